"""adafruit-circuitpython-fingerprint 2.2.25 on CPython against an R503 ZFM module (khil's simulator in the
tests), one flow per step. `busio` and `micropython` come from the stubs/ folder beside this script; the
library's UART is a pyserial Serial (it only calls read(n), write(b) and close()).

Usage: python adafruit_flows.py STEP PORT

Steps (each asserts its results and exits non-zero with a message on the first mismatch):

  library PORT    read_templates of an empty library; enrol into slot 5 (get_image, image_2_tz(1), wait for
                  NOFINGER, get_image, image_2_tz(2), create_model, store_model(5)); read_templates and
                  count_templates show slot 5; finger_search and finger_fast_search (new touches) find slot 5
                  with a positive confidence; delete_model(5) and empty_library empty the library, after which
                  both searches answer NOTFOUND.
  transfers PORT  get_fpdata("image") at 128- and 256-byte packets: the same 192x192 image, with ridges;
                  get_fpdata("char") of the model and of a new touch; send_fpdata(char) into buffer 2 at 32-
                  and 128-byte packets comes back unchanged; compare_templates of the new touch against the
                  sent model matches, against sent zeros it answers NOMATCH.
  led PORT        set_led in every mode and colour answers OK; soft_reset gets its ack and the 0x55 handshake,
                  after which the module answers again.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "stubs"))

import adafruit_fingerprint as af  # noqa: E402
import serial  # noqa: E402

from zfm_check import check, check_ridges, run, wait_until  # noqa: E402

WIDTH, HEIGHT = 192, 192
CAPACITY = 200
CHAR_LEN = 512
SLOT = 5
PACKET_CODES = {32: 0, 64: 1, 128: 2, 256: 3}


def connect(port):
    uart = serial.Serial(port, 57600, timeout=2)
    finger = af.Adafruit_Fingerprint(uart)  # sends VfyPwd then ReadSysPara, raises if either fails
    check(finger.library_size == CAPACITY, f"ReadSysPara: library size {finger.library_size}, expected {CAPACITY}")
    check(finger.data_packet_size == PACKET_CODES[128],
          f"ReadSysPara: packet size code {finger.data_packet_size}, expected 2 (128 bytes, as delivered)")
    return finger


def ok(code, what):
    check(code == af.OK, f"{what} answered {code:#04x}, expected OK")


def capture(finger, buffer):
    """Waits for the finger to be lifted and placed again, then converts the touch into `buffer`."""
    wait_until(finger.get_image, af.NOFINGER, "waiting for the finger to be lifted (NOFINGER)")
    wait_until(finger.get_image, af.OK, "waiting for the finger to be placed again")
    ok(finger.image_2_tz(buffer), f"image_2_tz({buffer})")


def enrol(finger, slot=None):
    """The library's enrol example: the model ends in buffers 1 and 2 (and in `slot` if given)."""
    wait_until(finger.get_image, af.OK, "waiting for a finger")
    ok(finger.image_2_tz(1), "image_2_tz(1)")
    capture(finger, 2)
    ok(finger.create_model(), "create_model")
    if slot is not None:
        ok(finger.store_model(slot), f"store_model({slot})")


def templates(finger):
    ok(finger.read_templates(), "read_templates")
    ok(finger.count_templates(), "count_templates")
    check(finger.template_count == len(finger.templates),
          f"count_templates says {finger.template_count}, read_templates lists {finger.templates}")
    return finger.templates


def search(finger, fast):
    name = "finger_fast_search" if fast else "finger_search"
    code = finger.finger_fast_search() if fast else finger.finger_search()
    return name, code, finger.finger_id, finger.confidence


def step_library(port):
    finger = connect(port)
    check(templates(finger) == [], f"library not empty at start: {finger.templates}")
    enrol(finger, SLOT)
    check(templates(finger) == [SLOT], f"after store_model({SLOT}) read_templates lists {finger.templates}")
    for fast in (False, True):
        capture(finger, 1)
        name, code, found, confidence = search(finger, fast)
        check(code == af.OK and found == SLOT and confidence > 0,
              f"{name}: code {code:#04x}, finger_id {found}, confidence {confidence}; "
              f"expected OK, slot {SLOT}, confidence > 0")
        print(f"{name}: slot {found}, confidence {confidence}")
    ok(finger.delete_model(SLOT), f"delete_model({SLOT})")
    check(templates(finger) == [], f"after delete_model({SLOT}) read_templates lists {finger.templates}")
    name, code, found, _ = search(finger, False)
    check(code == af.NOTFOUND, f"{name} after delete_model: code {code:#04x} (slot {found}), expected NOTFOUND")
    for slot in (0, 7, CAPACITY - 1):
        ok(finger.store_model(slot), f"store_model({slot})")
    check(templates(finger) == [0, 7, CAPACITY - 1], f"after three stores read_templates lists {finger.templates}")
    ok(finger.empty_library(), "empty_library")
    check(templates(finger) == [], f"after empty_library read_templates lists {finger.templates}")
    name, code, found, _ = search(finger, True)
    check(code == af.NOTFOUND, f"{name} after empty_library: code {code:#04x} (slot {found}), expected NOTFOUND")
    print("enrolled, found, deleted and emptied")


def set_packet_size(finger, size):
    ok(finger.set_sysparam(6, PACKET_CODES[size]), f"set_sysparam(6, {PACKET_CODES[size]})")
    ok(finger.read_sysparam(), "read_sysparam")
    check(finger.data_packet_size == PACKET_CODES[size],
          f"after set_sysparam(6, {PACKET_CODES[size]}) ReadSysPara says code {finger.data_packet_size}")


def image_rows(data, what):
    """The UART image: 4 bits a pixel, two pixels a byte, high nibble first."""
    check(len(data) == WIDTH * HEIGHT // 2, f"{what}: {len(data)} bytes, expected {WIDTH * HEIGHT // 2}")
    pixels = []
    for byte in data:
        pixels += [(byte >> 4) * 17, (byte & 0x0F) * 17]
    return [pixels[y * WIDTH:(y + 1) * WIDTH] for y in range(HEIGHT)]


def step_transfers(port):
    finger = connect(port)
    enrol(finger)
    model = finger.get_fpdata("char", 1)
    check(len(model) == CHAR_LEN and any(model), f"get_fpdata('char', 1) after create_model: {len(model)} bytes, "
          f"{'not ' if any(model) else ''}all zeros; expected {CHAR_LEN} bytes of a model")
    check(finger.get_fpdata("char", 2) == model, "create_model left different models in buffers 1 and 2")

    capture(finger, 1)
    image = finger.get_fpdata("image")
    check_ridges(image_rows(image, "get_fpdata('image') at 128-byte packets"), "image at 128-byte packets")
    set_packet_size(finger, 256)
    again = finger.get_fpdata("image")
    image_rows(again, "get_fpdata('image') at 256-byte packets")
    check(again == image, f"the image at 256-byte packets differs from the one at 128 in "
          f"{sum(a != b for a, b in zip(again, image))} bytes (one capture: the image buffer must not change)")

    probe = finger.get_fpdata("char", 1)
    check(len(probe) == CHAR_LEN and probe != model,
          "the characteristics of a new touch are the enrolled model's (or not 512 bytes)")
    blank = [0] * CHAR_LEN
    for size in (32, 128):
        set_packet_size(finger, size)
        for data, what in ((blank, "zeros"), (model, "the model")):
            check(finger.send_fpdata(list(data), "char", 2) is True, f"send_fpdata({what})")
            back = finger.get_fpdata("char", 2)
            check(back == data, f"send_fpdata({what}) at {size}-byte packets, get_fpdata gave something else "
                  f"({len(back)} bytes, {sum(a != b for a, b in zip(back, data))} differ)")
    check(finger.get_fpdata("char", 1) == probe, "buffer 1 changed while buffer 2 was written")
    code = finger.compare_templates()
    confidence = finger.confidence[0]
    check(code == af.OK and confidence > 0,
          f"compare_templates of a new touch and the sent model: code {code:#04x}, confidence {confidence}")
    print(f"compare_templates against the sent model: confidence {confidence}")
    check(finger.send_fpdata(list(blank), "char", 2) is True, "send_fpdata(zeros)")
    code = finger.compare_templates()
    check(code == af.NOMATCH, f"compare_templates against sent zeros: code {code:#04x}, expected NOMATCH")


def step_led(port):
    finger = connect(port)
    for mode in range(1, 7):
        for color in range(1, 8):
            ok(finger.set_led(color=color, mode=mode, speed=0x40, cycles=3), f"set_led(color={color}, mode={mode})")
    ok(finger.set_led(color=2, mode=1, speed=0x80, cycles=0), "set_led(blue, breathing, forever)")
    finger.soft_reset()  # raises unless the ack is OK and the 0x55 handshake byte follows
    ok(finger.verify_password(), "verify_password after soft_reset")
    ok(finger.read_sysparam(), "read_sysparam after soft_reset")
    print("set_led answered OK in 6 modes x 7 colours; soft_reset handshake received")


STEPS = {
    "library": step_library,
    "transfers": step_transfers,
    "led": step_led,
}

if __name__ == "__main__":
    run(STEPS, sys.argv)
