//! The symmetric cryptography of eMRTD access control (ICAO 9303-11 sections 9.7 and 9.8): 2-key 3DES and AES
//! in CBC mode, ISO/IEC 9797-1 padding method 2, ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC") and AES-CMAC, the
//! key derivation function, and DES key parity.
//!
//! Block ciphers, SHA and CMAC come from RustCrypto. CBC and the retail MAC are a few lines over the block
//! ciphers by hand: every use here pads with method 2 itself and changes the IV per message, and RustCrypto's
//! `retail-mac` pads with zeros (method 1), which 9303 does not use.

use std::fmt;

use aes::{Aes128, Aes192, Aes256};
use cmac::{Cmac, KeyInit, Mac};
use des::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, BlockSizeUser};
use des::{Des, TdesEde2};
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// The cipher of a session: 2-key 3DES (BAC, PACE with 3DES) or AES of a key size (PACE, chip authentication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    Tdes,
    Aes128,
    Aes192,
    Aes256,
}

impl Cipher {
    /// Key length in bytes (2-key 3DES: 16).
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Tdes | Cipher::Aes128 => 16,
            Cipher::Aes192 => 24,
            Cipher::Aes256 => 32,
        }
    }

    /// Block length in bytes: 8 for 3DES, 16 for AES. Also the length of the send sequence counter.
    pub fn block_len(self) -> usize {
        match self {
            Cipher::Tdes => 8,
            _ => 16,
        }
    }

    /// 3DES and AES-128 keys come from SHA-1, AES-192 and AES-256 keys from SHA-256 (9303-11 section 9.7.1).
    fn kdf_uses_sha256(self) -> bool {
        matches!(self, Cipher::Aes192 | Cipher::Aes256)
    }
}

impl fmt::Display for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cipher::Tdes => "3DES",
            Cipher::Aes128 => "AES-128",
            Cipher::Aes192 => "AES-192",
            Cipher::Aes256 => "AES-256",
        })
    }
}

/// What was wrong with a key or a ciphertext given to this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("a {cipher} key must be {expected} bytes, got {got}")]
    KeyLength { cipher: Cipher, expected: usize, got: usize },
    #[error("{what} must be a whole number of {block}-byte blocks, got {got} bytes")]
    NotBlocks { what: &'static str, block: usize, got: usize },
    #[error("the IV must be {expected} bytes, got {got}")]
    IvLength { expected: usize, got: usize },
    #[error("ISO 9797-1 method 2 padding: no 80 byte before the trailing zeros of {len} bytes")]
    Padding { len: usize },
}

/// A symmetric key with its cipher. `Debug` shows the cipher only.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    cipher: Cipher,
    bytes: Vec<u8>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({}, {} bytes)", self.cipher, self.bytes.len())
    }
}

/// Counter values of the key derivation function (9303-11 section 9.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdfCounter {
    Enc = 1,
    Mac = 2,
    /// Kpi, the PACE key from the password.
    Pace = 3,
}

impl Key {
    /// A key of `cipher` from its bytes (a 3DES key is used as given: set parity with [`set_des_parity`] where the
    /// standard asks for it).
    pub fn new(cipher: Cipher, bytes: &[u8]) -> Result<Key, CryptoError> {
        if bytes.len() != cipher.key_len() {
            return Err(CryptoError::KeyLength { cipher, expected: cipher.key_len(), got: bytes.len() });
        }
        Ok(Key { cipher, bytes: bytes.to_vec() })
    }

    /// KDF(K, c) of 9303-11 section 9.7.1: the hash of `shared_secret || c` (32-bit big-endian counter),
    /// truncated to the key length; 3DES keys get odd parity.
    pub fn derive(cipher: Cipher, shared_secret: &[u8], counter: KdfCounter) -> Key {
        let c = (counter as u32).to_be_bytes();
        let digest: Vec<u8> = if cipher.kdf_uses_sha256() {
            Sha256::new().chain_update(shared_secret).chain_update(c).finalize().to_vec()
        } else {
            Sha1::new().chain_update(shared_secret).chain_update(c).finalize().to_vec()
        };
        let mut bytes = digest[..cipher.key_len()].to_vec();
        if cipher == Cipher::Tdes {
            set_des_parity(&mut bytes);
        }
        Key { cipher, bytes }
    }

    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// The key's bytes (for tests against published vectors and for handing to a chip's key store).
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// CBC encryption of whole blocks (pad first with [`pad`]).
    pub fn encrypt_cbc(&self, iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self.cipher {
            Cipher::Tdes => cbc_encrypt(&TdesEde2::new_from_slice(&self.bytes).expect("checked length"), iv, data),
            Cipher::Aes128 => cbc_encrypt(&Aes128::new_from_slice(&self.bytes).expect("checked length"), iv, data),
            Cipher::Aes192 => cbc_encrypt(&Aes192::new_from_slice(&self.bytes).expect("checked length"), iv, data),
            Cipher::Aes256 => cbc_encrypt(&Aes256::new_from_slice(&self.bytes).expect("checked length"), iv, data),
        }
    }

    /// CBC decryption of whole blocks (remove the padding afterwards with [`unpad`]).
    pub fn decrypt_cbc(&self, iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self.cipher {
            Cipher::Tdes => cbc_decrypt(&TdesEde2::new_from_slice(&self.bytes).expect("checked length"), iv, data),
            Cipher::Aes128 => cbc_decrypt(&Aes128::new_from_slice(&self.bytes).expect("checked length"), iv, data),
            Cipher::Aes192 => cbc_decrypt(&Aes192::new_from_slice(&self.bytes).expect("checked length"), iv, data),
            Cipher::Aes256 => cbc_decrypt(&Aes256::new_from_slice(&self.bytes).expect("checked length"), iv, data),
        }
    }

    /// The 8-byte MAC of a message as 9303 uses it outside secure messaging (BAC cryptograms, PACE and chip
    /// authentication tokens): for 3DES the retail MAC over the method-2 padded message, for AES the CMAC
    /// truncated to 8 bytes (CMAC pads by itself).
    pub fn mac(&self, message: &[u8]) -> [u8; 8] {
        match self.cipher {
            Cipher::Tdes => retail_mac(&self.bytes, &pad(message, 8)),
            _ => self.cmac8(message),
        }
    }

    /// The 8-byte MAC of secure messaging (9303-11 section 9.8.3): the input is padded with method 2 for both
    /// ciphers, then retail MAC (3DES) or CMAC truncated to 8 (AES).
    pub fn sm_mac(&self, input: &[u8]) -> [u8; 8] {
        let padded = pad(input, self.cipher.block_len());
        match self.cipher {
            Cipher::Tdes => retail_mac(&self.bytes, &padded),
            _ => self.cmac8(&padded),
        }
    }

    /// One block encrypted alone (AES secure messaging's IV is AES-ECB(KSEnc, SSC)).
    pub fn encrypt_block(&self, block: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let zero = vec![0; self.cipher.block_len()];
        if block.len() != zero.len() {
            return Err(CryptoError::NotBlocks { what: "a single block", block: zero.len(), got: block.len() });
        }
        // CBC with a zero IV over one block is the block cipher itself.
        self.encrypt_cbc(&zero, block)
    }

    fn cmac8(&self, message: &[u8]) -> [u8; 8] {
        fn tag<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> [u8; 8] {
            let mut mac = <M as KeyInit>::new_from_slice(key).expect("checked length");
            mac.update(message);
            let full = mac.finalize().into_bytes();
            full[..8].try_into().expect("CMAC is 16 bytes")
        }
        match self.cipher {
            Cipher::Aes128 => tag::<Cmac<Aes128>>(&self.bytes, message),
            Cipher::Aes192 => tag::<Cmac<Aes192>>(&self.bytes, message),
            Cipher::Aes256 => tag::<Cmac<Aes256>>(&self.bytes, message),
            Cipher::Tdes => unreachable!("3DES MACs are retail MACs"),
        }
    }
}

/// Sets odd parity in every byte of a DES key (the low bit of each byte is its parity bit).
pub fn set_des_parity(key: &mut [u8]) {
    for b in key {
        let ones = (*b & 0xFE).count_ones();
        *b = (*b & 0xFE) | u8::from(ones % 2 == 0);
    }
}

/// ISO/IEC 9797-1 padding method 2: append 80, then 00 up to a multiple of `block` (always at least one byte).
pub fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + block);
    out.extend_from_slice(data);
    out.push(0x80);
    while out.len() % block != 0 {
        out.push(0);
    }
    out
}

/// Removes method 2 padding: the trailing zeros and the 80 before them.
pub fn unpad(data: &[u8]) -> Result<&[u8], CryptoError> {
    let end = data.iter().rposition(|&b| b != 0).ok_or(CryptoError::Padding { len: data.len() })?;
    if data[end] != 0x80 {
        return Err(CryptoError::Padding { len: data.len() });
    }
    Ok(&data[..end])
}

/// Kseed of BAC (9303-11 section 9.7.2): the first 16 bytes of SHA-1 of the MRZ information (document number,
/// date of birth, date of expiry, each with its check digit).
pub fn kseed(mrz_information: &[u8]) -> [u8; 16] {
    Sha1::digest(mrz_information)[..16].try_into().expect("SHA-1 is 20 bytes")
}

/// SHA-1 of a PACE password (the MRZ information; a CAN is used as it is).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

fn cbc_encrypt<C: BlockCipherEncrypt>(cipher: &C, iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let n = C::block_size();
    check_blocks(n, iv, data)?;
    let mut chain = iv.to_vec();
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks(n) {
        let mut block = Array::<u8, <C as BlockSizeUser>::BlockSize>::default();
        for ((b, p), c) in block.iter_mut().zip(chunk).zip(&chain) {
            *b = p ^ c;
        }
        cipher.encrypt_block(&mut block);
        chain.copy_from_slice(&block);
        out.extend_from_slice(&block);
    }
    Ok(out)
}

fn cbc_decrypt<C: BlockCipherDecrypt>(cipher: &C, iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let n = C::block_size();
    check_blocks(n, iv, data)?;
    let mut chain = iv;
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks(n) {
        let mut block = Array::<u8, <C as BlockSizeUser>::BlockSize>::default();
        block.copy_from_slice(chunk);
        cipher.decrypt_block(&mut block);
        out.extend(block.iter().zip(chain).map(|(b, c)| b ^ c));
        chain = chunk;
    }
    Ok(out)
}

fn check_blocks(n: usize, iv: &[u8], data: &[u8]) -> Result<(), CryptoError> {
    if iv.len() != n {
        return Err(CryptoError::IvLength { expected: n, got: iv.len() });
    }
    if !data.len().is_multiple_of(n) {
        return Err(CryptoError::NotBlocks { what: "CBC data", block: n, got: data.len() });
    }
    Ok(())
}

/// ISO/IEC 9797-1 MAC algorithm 3 with DES: single DES CBC under Ka over every block, then the last block
/// decrypted with Kb and encrypted with Ka. `padded` is already a whole number of 8-byte blocks.
fn retail_mac(key: &[u8], padded: &[u8]) -> [u8; 8] {
    let ka = Des::new_from_slice(&key[..8]).expect("8-byte DES key");
    let kb = Des::new_from_slice(&key[8..16]).expect("8-byte DES key");
    let mut h = Array::<u8, <Des as BlockSizeUser>::BlockSize>::default();
    for chunk in padded.chunks(8) {
        for (x, p) in h.iter_mut().zip(chunk) {
            *x ^= p;
        }
        ka.encrypt_block(&mut h);
    }
    kb.decrypt_block(&mut h);
    ka.encrypt_block(&mut h);
    h.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn appendix_d_keys_from_the_mrz() {
        // 9303-11 Appendix D.2.
        let seed = kseed(b"L898902C<369080619406236");
        assert_eq!(seed.to_vec(), hex("239AB9CB282DAF66231DC5A4DF6BFBAE"));
        let enc = Key::derive(Cipher::Tdes, &seed, KdfCounter::Enc);
        let mac = Key::derive(Cipher::Tdes, &seed, KdfCounter::Mac);
        assert_eq!(enc.expose_bytes(), hex("AB94FDECF2674FDFB9B391F85D7F76F2"));
        assert_eq!(mac.expose_bytes(), hex("7962D9ECE03D1ACD4C76089DCE131543"));
        assert_eq!(format!("{enc:?}"), "Key(3DES, 16 bytes)");
    }

    #[test]
    fn appendix_d_cryptogram_and_mac() {
        let enc = Key::new(Cipher::Tdes, &hex("AB94FDECF2674FDFB9B391F85D7F76F2")).unwrap();
        let mac = Key::new(Cipher::Tdes, &hex("7962D9ECE03D1ACD4C76089DCE131543")).unwrap();
        let s = hex("781723860C06C2264608F919887022120B795240CB7049B01C19B33E32804F0B");
        let eifd = enc.encrypt_cbc(&[0; 8], &s).unwrap();
        assert_eq!(eifd, hex("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"));
        assert_eq!(mac.mac(&eifd).to_vec(), hex("5F1448EEA8AD90A7"));
        assert_eq!(enc.decrypt_cbc(&[0; 8], &eifd).unwrap(), s);
    }

    #[test]
    fn long_document_number_kseed() {
        assert_eq!(kseed(b"D23145890734934071279507122").to_vec(), hex("B366AD857DDCA2B08C0E299811714730"));
    }

    #[test]
    fn aes_cmac_rfc4493_and_cbc_nist() {
        // RFC 4493 example 2 (16-byte message), NIST SP 800-38A F.2.1 (CBC-AES128, first block).
        let key = Key::new(Cipher::Aes128, &hex("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
        assert_eq!(key.mac(&hex("6bc1bee22e409f96e93d7e117393172a")).to_vec(), hex("070a16b46b4d4144"));
        let ct = key.encrypt_cbc(&hex("000102030405060708090a0b0c0d0e0f"), &hex("6bc1bee22e409f96e93d7e117393172a"));
        assert_eq!(ct.unwrap(), hex("7649abac8119b246cee98e9b12e9197d"));
    }

    #[test]
    fn padding_and_parity() {
        assert_eq!(pad(&[1, 2, 3], 8), [1, 2, 3, 0x80, 0, 0, 0, 0]);
        assert_eq!(pad(&[0; 8], 8).len(), 16);
        assert_eq!(unpad(&[1, 0x80, 0, 0]).unwrap(), [1]);
        assert!(unpad(&[1, 0, 0]).is_err());
        assert!(unpad(&[0, 0]).is_err());
        let mut k = [0x00, 0x01, 0xFE, 0xFF];
        set_des_parity(&mut k);
        assert_eq!(k, [0x01, 0x01, 0xFE, 0xFE]);
        assert!(Key::new(Cipher::Aes256, &[0; 16]).is_err());
        assert!(Key::new(Cipher::Aes128, &[0; 16]).unwrap().encrypt_cbc(&[0; 16], &[0; 15]).is_err());
    }
}
