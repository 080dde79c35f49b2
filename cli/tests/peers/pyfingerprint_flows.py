"""pyfingerprint 1.5 against a ZFM module (khil's simulator in the tests), one flow per step.

Usage: python pyfingerprint_flows.py STEP PORT [ARGS...]

Steps (each asserts its results and exits non-zero with a message on the first mismatch):

  enrol PORT                  pyfingerprint's enrol example: read, convert 1, search (nothing found in an
                              empty library), finger lifted and placed again, read, convert 2, compare
                              (score > 0), create, store (slot 0); count and index show slot 0.
  search PORT SLOT ROUNDS     its search example ROUNDS times (one touch each): read, convert 1, search
                              finds SLOT with a positive score; the library holds exactly one template.
  search-absent PORT          a finger that was never enrolled: search finds nothing in a library of one.
  image PORT DIR              one capture, then downloadImage at packet sizes 32, 128 and 256 (setMaxPacketSize):
                              the module sends data packets of that size; three 256x288 8-bit BMPs, identical,
                              with ridge structure; a second capture gives a different image.
  chars PORT                  enrol, then downloadCharacteristics / uploadCharacteristics at packet sizes 32,
                              128 and 256 (data packets of that size; what goes up comes back), and a search
                              with uploaded characteristics finds the enrolled slot (with uploaded zeros:
                              nothing).
  index PORT                  enrol once and store the template at 0, 5, 300 and 999: getTemplateCount and
                              getTemplateIndex (all four pages) show exactly those slots; storeTemplate()
                              without a position picks the lowest free slot.
  delete PORT                 after `index`: deleteTemplate removes slots one by one; count, index and search
                              see each one gone.
  random PORT                 generateRandomNumber: 32-bit values, consecutive calls differ.
"""

import os
import sys

from pyfingerprint.pyfingerprint import PyFingerprint

from zfm_check import check, check_ridges, run, wait_until

WIDTH, HEIGHT = 256, 288
CHAR_LEN = 512


class PacketSpy:
    """Records the payload length of every data packet pyfingerprint reads (its private reader, wrapped
    without changing what it returns), to check the module honours setMaxPacketSize."""

    def __init__(self, f):
        self.lengths = []
        read = f._PyFingerprint__readPacket

        def spy():
            packet = read()
            if packet[0] in (0x02, 0x08):
                self.lengths.append(len(packet[1]))
            return packet

        f._PyFingerprint__readPacket = spy

    def take(self):
        lengths, self.lengths = self.lengths, []
        return lengths


def connect(port):
    f = PyFingerprint(port, 57600, 0xFFFFFFFF, 0x00000000)
    check(f.verifyPassword() is True, "verifyPassword with the factory password 0 was refused")
    return f


def used_slots(f, page):
    index = f.getTemplateIndex(page)
    check(len(index) == 256, f"getTemplateIndex({page}) has {len(index)} entries, expected 256")
    return [page * 256 + i for i, used in enumerate(index) if used]


def all_used_slots(f):
    return [slot for page in range(4) for slot in used_slots(f, page)]


def touch(f):
    """The finger is lifted (readImage says no finger) and placed again (readImage succeeds)."""
    wait_until(f.readImage, False, "waiting for the finger to be lifted")
    wait_until(f.readImage, True, "waiting for the finger to be placed again")


def enrol_template(f):
    """read, convert 1, lift and place, read, convert 2, create: the model is in both character buffers."""
    wait_until(f.readImage, True, "waiting for a finger")
    check(f.convertImage(0x01) is True, "convertImage(1) failed")
    touch(f)
    check(f.convertImage(0x02) is True, "convertImage(2) failed")
    score = f.compareCharacteristics()
    check(score > 0, f"compareCharacteristics of two touches of one finger: score {score}, expected > 0")
    check(f.createTemplate() is True, "createTemplate: the two touches did not merge")
    return score


def step_enrol(port):
    f = connect(port)
    count = f.getTemplateCount()
    check(count == 0, f"library not empty at start: {count} templates")
    wait_until(f.readImage, True, "waiting for a finger")
    check(f.convertImage(0x01) is True, "convertImage(1) failed")
    found = f.searchTemplate()
    check(found == (-1, -1), f"searchTemplate in an empty library returned {found}, expected (-1, -1)")
    touch(f)
    check(f.convertImage(0x02) is True, "convertImage(2) failed")
    score = f.compareCharacteristics()
    check(score > 0, f"compareCharacteristics of two touches of one finger: score {score}, expected > 0")
    check(f.createTemplate() is True, "createTemplate: the two touches did not merge")
    slot = f.storeTemplate()
    check(slot == 0, f"storeTemplate() in an empty library chose slot {slot}, expected 0")
    count = f.getTemplateCount()
    check(count == 1, f"getTemplateCount after one store: {count}, expected 1")
    slots = all_used_slots(f)
    check(slots == [0], f"getTemplateIndex after storing slot 0 shows {slots}, expected [0]")
    print(f"enrolled slot {slot} (compare score {score})")


def step_search(port, slot, rounds):
    slot, rounds = int(slot), int(rounds)
    f = connect(port)
    count = f.getTemplateCount()
    check(count == 1, f"the library from the state file holds {count} templates, expected 1")
    for n in range(rounds):
        if n > 0:
            wait_until(f.readImage, False, "waiting for the finger to be lifted")
        wait_until(f.readImage, True, "waiting for a finger")
        check(f.convertImage(0x01) is True, f"touch {n}: convertImage(1) failed")
        found, score = f.searchTemplate()
        check(found == slot and score > 0, f"touch {n}: searchTemplate returned ({found}, {score}), "
              f"expected slot {slot} with a positive score")
        print(f"touch {n}: found slot {found}, score {score}")


def step_search_absent(port):
    f = connect(port)
    count = f.getTemplateCount()
    check(count == 1, f"the library from the state file holds {count} templates, expected 1")
    wait_until(f.readImage, True, "waiting for a finger")
    check(f.convertImage(0x01) is True, "convertImage(1) failed")
    found = f.searchTemplate()
    check(found == (-1, -1), f"searchTemplate for a finger never enrolled returned {found}, expected (-1, -1)")
    print("an unknown finger is not found")


def read_bmp(path):
    """Checks the BMP header (8 bits a pixel, 256 x 288) and returns the pixel rows, top first."""
    from PIL import Image

    with open(path, "rb") as fh:
        head = fh.read(30)
    check(head[:2] == b"BM", f"{path}: not a BMP (starts with {head[:2]!r})")
    width = int.from_bytes(head[18:22], "little", signed=True)
    height = abs(int.from_bytes(head[22:26], "little", signed=True))
    bits = int.from_bytes(head[28:30], "little")
    check((width, height, bits) == (WIDTH, HEIGHT, 8),
          f"{path}: BMP is {width}x{height} at {bits} bits a pixel, expected {WIDTH}x{HEIGHT} at 8")
    with Image.open(path) as img:
        check(img.mode == "L" and img.size == (WIDTH, HEIGHT), f"{path}: PIL reads {img.mode} {img.size}")
        data = list(img.getdata())
    return [data[y * WIDTH:(y + 1) * WIDTH] for y in range(HEIGHT)]


def step_image(port, outdir):
    f = connect(port)
    spy = PacketSpy(f)
    wait_until(f.readImage, True, "waiting for a finger")
    images = {}
    for size in (32, 128, 256):
        f.setMaxPacketSize(size)
        got = f.getMaxPacketSize()
        check(got == size, f"setMaxPacketSize({size}) but getMaxPacketSize() is {got}")
        path = os.path.join(outdir, f"image-{size}.bmp")
        spy.take()
        f.downloadImage(path)
        lengths = spy.take()
        expected = [size] * (WIDTH * HEIGHT // 2 // size)
        check(lengths == expected, f"downloadImage at packet size {size}: data packets of {sorted(set(lengths))} "
              f"bytes, {len(lengths)} of them; expected {len(expected)} of {size}")
        images[size] = read_bmp(path)
    check_ridges(images[128], "image at 128-byte packets")
    for size in (32, 256):
        diff = sum(a != b for ra, rb in zip(images[size], images[128]) for a, b in zip(ra, rb))
        check(diff == 0, f"the image downloaded at {size}-byte packets differs from the one at 128 "
              f"in {diff} pixels (one capture, three downloads: the image buffer must not change)")
    touch(f)
    path = os.path.join(outdir, "image-second-touch.bmp")
    f.downloadImage(path)
    second = read_bmp(path)
    diff = sum(a != b for ra, rb in zip(second, images[128]) for a, b in zip(ra, rb))
    check(diff > WIDTH * HEIGHT // 20, f"a second touch changed only {diff} pixels: the capture did not "
          "replace the image buffer")
    print(f"three downloads identical; a second touch differs in {diff} pixels")


def step_chars(port):
    f = connect(port)
    enrol_template(f)
    slot = f.storeTemplate()
    check(slot == 0, f"storeTemplate() in an empty library chose slot {slot}, expected 0")
    model = f.downloadCharacteristics(0x01)
    check(len(model) == CHAR_LEN, f"downloadCharacteristics(1) gave {len(model)} bytes, expected {CHAR_LEN}")
    check(any(model), "downloadCharacteristics(1) after createTemplate is all zeros")
    check(f.downloadCharacteristics(0x02) == model, "createTemplate left different models in buffers 1 and 2")
    touch(f)
    check(f.convertImage(0x01) is True, "convertImage(1) failed")
    probe = f.downloadCharacteristics(0x01)
    check(len(probe) == CHAR_LEN and probe != model,
          "the characteristics of a new touch are the enrolled model's (or not 512 bytes)")
    blank = [0] * CHAR_LEN
    spy = PacketSpy(f)
    for size in (32, 128, 256):
        f.setMaxPacketSize(size)
        spy.take()
        check(f.downloadCharacteristics(0x01) == probe, f"downloadCharacteristics(1) at {size}-byte packets "
              "differs from the same buffer at 128")
        lengths = spy.take()
        check(lengths == [size] * (CHAR_LEN // size), f"downloadCharacteristics at packet size {size}: data "
              f"packets of {lengths} bytes")
        for data, what in ((blank, "zeros"), (model, "the model")):
            check(f.uploadCharacteristics(0x02, data) is True,
                  f"uploadCharacteristics(2, {what}) at {size}-byte packets: the echo differs")
            back = f.downloadCharacteristics(0x02)
            check(back == data, f"uploaded {what} at {size}-byte packets, downloaded something else "
                  f"({sum(a != b for a, b in zip(back, data))} bytes differ, {len(back)} long)")
    f.setMaxPacketSize(128)
    check(f.uploadCharacteristics(0x01, blank) is True, "uploadCharacteristics(1, zeros): the echo differs")
    found = f.searchTemplate()
    check(found == (-1, -1), f"search with zeros in buffer 1 returned {found}, expected (-1, -1)")
    check(f.uploadCharacteristics(0x01, probe) is True, "uploadCharacteristics(1, probe): the echo differs")
    found, score = f.searchTemplate()
    check(found == slot and score > 0, f"search with uploaded characteristics returned ({found}, {score}), "
          f"expected slot {slot} with a positive score")
    compared = f.compareCharacteristics()
    check(compared > 0, f"compareCharacteristics of uploaded probe and model: {compared}, expected > 0")
    print(f"uploaded characteristics found slot {found} (score {score}), compare score {compared}")


SLOTS = [0, 5, 300, 999]


def step_index(port):
    f = connect(port)
    slots = all_used_slots(f)
    check(slots == [], f"index of an empty library shows {slots}")
    enrol_template(f)
    check(f.storeTemplate() == 0, "storeTemplate() in an empty library did not choose slot 0")
    for slot in SLOTS[1:]:
        check(f.storeTemplate(slot, 0x01) == slot, f"storeTemplate({slot}) did not report slot {slot}")
    count = f.getTemplateCount()
    check(count == len(SLOTS), f"getTemplateCount: {count}, expected {len(SLOTS)}")
    for page, expected in ((0, [0, 5]), (1, [300]), (2, []), (3, [999])):
        got = used_slots(f, page)
        check(got == expected, f"getTemplateIndex({page}) shows {got}, expected {expected}")
    auto = f.storeTemplate()
    check(auto == 1, f"storeTemplate() with slots {SLOTS} used chose {auto}, expected 1 (lowest free)")
    check(f.deleteTemplate(1) is True, "deleteTemplate(1) failed")
    slots = all_used_slots(f)
    check(slots == SLOTS, f"index after deleting slot 1 shows {slots}, expected {SLOTS}")
    print(f"index shows {slots}")


def step_delete(port):
    f = connect(port)
    slots = all_used_slots(f)
    check(slots == SLOTS, f"library at start (after `index`) is {slots}, expected {SLOTS}")
    wait_until(f.readImage, True, "waiting for a finger")
    remaining = list(SLOTS)
    for slot in (5, 0, 300):
        check(f.deleteTemplate(slot) is True, f"deleteTemplate({slot}) failed")
        remaining.remove(slot)
        count = f.getTemplateCount()
        check(count == len(remaining), f"after deleting {slot}: count {count}, expected {len(remaining)}")
        got = all_used_slots(f)
        check(got == remaining, f"after deleting {slot}: index shows {got}, expected {remaining}")
    touch(f)
    check(f.convertImage(0x01) is True, "convertImage(1) failed")
    found, score = f.searchTemplate()
    check(found == 999 and score > 0, f"search with slots 0, 5, 300 deleted returned ({found}, {score}), "
          "expected the one left, 999")
    check(f.deleteTemplate(999) is True, "deleteTemplate(999) failed")
    count, slots = f.getTemplateCount(), all_used_slots(f)
    check(count == 0 and slots == [], f"after deleting every slot: count {count}, index {slots}")
    found = f.searchTemplate()
    check(found == (-1, -1), f"search in the emptied library returned {found}, expected (-1, -1)")
    print("every deletion is seen by count, index and search")


def step_random(port):
    f = connect(port)
    values = [f.generateRandomNumber() for _ in range(4)]
    print("random numbers:", " ".join(f"{v:08x}" for v in values))
    check(all(0 <= v < 2 ** 32 for v in values), f"not 32-bit values: {values}")
    for a, b in zip(values, values[1:]):
        check(a != b, f"two consecutive generateRandomNumber calls both gave {a:#010x}")


STEPS = {
    "enrol": step_enrol,
    "search": step_search,
    "search-absent": step_search_absent,
    "image": step_image,
    "chars": step_chars,
    "index": step_index,
    "delete": step_delete,
    "random": step_random,
}

if __name__ == "__main__":
    run(STEPS, sys.argv)
