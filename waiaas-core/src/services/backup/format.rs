//! The file format: the fixed header, the plaintext metadata, the payload entries, their
//! encryption (Argon2id key, AES-256-GCM) and reading a backup file back.

use super::*;
use crate::error::{Error, ErrorCode, Result};
use crate::services::signer::keystore::{self, KdfParams, KDF_MEMORY_KIB, KDF_PARALLELISM, KDF_TIME};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{ErrorKind, Read};
use std::path::Path;
use zeroize::Zeroizing;

/// The plaintext metadata (upstream `BackupMetadata`, same field order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupMetadata {
    /// ISO 8601 UTC with milliseconds.
    pub created_at: String,
    #[serde(default)]
    pub daemon_version: String,
    #[serde(default)]
    pub schema_version: i64,
    #[serde(default = "argon2id")]
    pub kdf: String,
    #[serde(default)]
    pub kdf_params: KdfParamsMeta,
    #[serde(default)]
    pub contents: Contents,
    /// `sha256:<hex>` of the ciphertext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

fn argon2id() -> String {
    "argon2id".into()
}

impl BackupMetadata {
    /// Files in the backup as upstream counts them (database + config + key files).
    pub fn file_count(&self) -> u64 {
        1 + u64::from(self.contents.config.is_some()) + self.contents.keystore_files.len() as u64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParamsMeta {
    pub memory_cost: u32,
    pub time_cost: u32,
    pub parallelism: u32,
    pub hash_length: u32,
}

impl Default for KdfParamsMeta {
    fn default() -> Self {
        KdfParamsMeta { memory_cost: KDF_MEMORY_KIB, time_cost: KDF_TIME, parallelism: KDF_PARALLELISM, hash_length: 32 }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contents {
    pub database: FileInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<FileInfo>,
    #[serde(default)]
    pub keystore_files: Vec<FileInfo>,
}

/// A file named in the metadata or found in the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub name: String,
    pub size: u64,
}

/// The fixed 60-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    pub reserved: u16,
    pub metadata_len: u32,
    pub salt: [u8; 16],
    pub nonce: [u8; 12],
    pub tag: [u8; 16],
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..10].copy_from_slice(&self.version.to_le_bytes());
        h[10..12].copy_from_slice(&self.reserved.to_le_bytes());
        h[12..16].copy_from_slice(&self.metadata_len.to_le_bytes());
        h[16..32].copy_from_slice(&self.salt);
        h[32..44].copy_from_slice(&self.nonce);
        h[44..60].copy_from_slice(&self.tag);
        h
    }

    /// Parse and check magic and version.
    pub fn parse(b: &[u8]) -> Result<Header> {
        if b.len() < HEADER_LEN {
            return Err(invalid_format(format!("file too small: {} bytes (a backup has at least {HEADER_LEN})", b.len())));
        }
        if b[0..8] != MAGIC {
            return Err(invalid_format("not a WAIaaS backup file (bad magic number)".into()));
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != FORMAT_VERSION {
            return Err(Error::new(
                ErrorCode::UNSUPPORTED_BACKUP_VERSION,
                format!("unsupported backup format version {version} (this build reads version {FORMAT_VERSION})"),
            ));
        }
        fn field<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N]> {
            b.get(at..at + N).and_then(|s| s.try_into().ok()).ok_or_else(|| invalid_format("header cut short".into()))
        }
        Ok(Header {
            version,
            reserved: u16::from_le_bytes([b[10], b[11]]),
            metadata_len: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
            salt: field(b, 16)?,
            nonce: field(b, 32)?,
            tag: field(b, 44)?,
        })
    }
}

pub(super) fn invalid_format(msg: String) -> Error {
    Error::new(ErrorCode::INVALID_BACKUP_FORMAT, msg)
}

pub(super) fn corrupted(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::BACKUP_CORRUPTED, msg)
}

fn not_found(path: &Path) -> Error {
    Error::new(ErrorCode::BACKUP_NOT_FOUND, format!("backup file not found: {}", path.display()))
}

fn parse_metadata(raw: &[u8]) -> Result<BackupMetadata> {
    serde_json::from_slice(raw).map_err(|e| invalid_format(format!("backup metadata is not valid JSON: {e}")))
}

/// One payload entry; the data is zeroized on drop.
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) data: Zeroizing<Vec<u8>>,
}

/// `[u16 nameLen][name][u64 dataLen][data]...` into one zeroizing buffer, allocated once (no
/// plaintext is left behind in a reallocated buffer).
pub(super) fn encode_entries(entries: &[Entry]) -> Result<Zeroizing<Vec<u8>>> {
    let total: usize = entries.iter().map(|e| 2 + e.name.len() + 8 + e.data.len()).sum();
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    for e in entries {
        let name_len = u16::try_from(e.name.len()).map_err(|_| Error::internal(format!("entry name too long: {}", e.name)))?;
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(&(e.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&e.data);
    }
    Ok(out)
}

fn decode_entries(p: &[u8]) -> Result<Vec<Entry>> {
    let bad = |what: &str| corrupted(format!("backup payload is malformed: {what}"));
    let mut entries = vec![];
    let mut at = 0usize;
    while at < p.len() {
        let name_len = p.get(at..at + 2).ok_or_else(|| bad("entry header cut short"))?;
        let name_len = u16::from_le_bytes([name_len[0], name_len[1]]) as usize;
        at += 2;
        let name = p.get(at..at + name_len).ok_or_else(|| bad("entry name cut short"))?;
        let name = std::str::from_utf8(name).map_err(|_| bad("entry name is not UTF-8"))?.to_string();
        at += name_len;
        let len = p.get(at..at + 8).ok_or_else(|| bad("entry length cut short"))?;
        let len = u64::from_le_bytes(len.try_into().map_err(|_| bad("entry length cut short"))?);
        at += 8;
        let len = usize::try_from(len).map_err(|_| bad("entry too large"))?;
        let end = at.checked_add(len).ok_or_else(|| bad("entry too large"))?;
        let data = p.get(at..end).ok_or_else(|| bad(&format!("entry '{name}' cut short")))?;
        entries.push(Entry { name, data: Zeroizing::new(data.to_vec()) });
        at = end;
    }
    Ok(entries)
}

/// The backup key: the keystore KDF with its fixed parameters.
fn derive_key(password: &[u8], salt: &[u8; 16]) -> Result<Zeroizing<[u8; 32]>> {
    let p = KdfParams { salt: String::new(), memory_cost: KDF_MEMORY_KIB, time_cost: KDF_TIME, parallelism: KDF_PARALLELISM, hash_length: 32 };
    keystore::kdf(password, salt, &p)
}

/// An encrypted payload with what the header needs to open it.
pub(super) struct Sealed {
    pub(super) salt: [u8; 16],
    pub(super) nonce: [u8; 12],
    pub(super) tag: [u8; 16],
    pub(super) ciphertext: Vec<u8>,
}

/// Encrypt `plain` in place under a fresh salt and nonce.
pub(super) fn seal(password: &[u8], mut plain: Zeroizing<Vec<u8>>) -> Result<Sealed> {
    let (mut salt, mut nonce) = ([0u8; 16], [0u8; 12]);
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let key = derive_key(password, &salt)?;
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| Error::internal("aes key"))?;
    let tag =
        cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), b"", plain.as_mut_slice()).map_err(|_| Error::internal("aes-gcm encryption failed"))?;
    // The buffer now holds ciphertext only.
    let ciphertext = std::mem::take(&mut *plain);
    Ok(Sealed { salt, nonce, tag: tag.into(), ciphertext })
}

/// Decrypt the payload; a wrong password (or a damaged salt/nonce/tag) is `INVALID_MASTER_PASSWORD`.
fn unseal(password: &[u8], h: &Header, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let key = derive_key(password, &h.salt)?;
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| Error::internal("aes key"))?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    cipher.decrypt_in_place_detached(Nonce::from_slice(&h.nonce), b"", buf.as_mut_slice(), Tag::from_slice(&h.tag)).map_err(|_| {
        Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "Decryption failed: wrong master password (or a damaged backup header: salt, nonce or tag)")
    })?;
    Ok(buf)
}

/// A whole backup file in memory.
pub(super) struct Archive {
    pub(super) header: Header,
    pub(super) metadata: BackupMetadata,
    pub(super) bytes: Vec<u8>,
}

impl Archive {
    pub(super) fn read(path: &Path) -> Result<Archive> {
        let bytes = fs::read(path).map_err(|e| if e.kind() == ErrorKind::NotFound { not_found(path) } else { e.into() })?;
        let header = Header::parse(&bytes)?;
        let meta_len = header.metadata_len as usize;
        if meta_len > MAX_METADATA_LEN || HEADER_LEN + meta_len > bytes.len() {
            return Err(invalid_format(format!("metadata length {meta_len} runs past the end of the file ({} bytes): truncated or not a backup", bytes.len())));
        }
        let metadata = parse_metadata(&bytes[HEADER_LEN..HEADER_LEN + meta_len])?;
        Ok(Archive { header, metadata, bytes })
    }

    fn ciphertext(&self) -> &[u8] {
        &self.bytes[HEADER_LEN + self.header.metadata_len as usize..]
    }

    /// `Some(matches)` when the metadata carries a checksum.
    pub(super) fn checksum_ok(&self) -> Result<Option<bool>> {
        let Some(c) = &self.metadata.checksum else { return Ok(None) };
        let expected = c.strip_prefix("sha256:").ok_or_else(|| invalid_format(format!("unknown checksum algorithm in '{c}'")))?;
        Ok(Some(hex::encode(Sha256::digest(self.ciphertext())).eq_ignore_ascii_case(expected)))
    }

    pub(super) fn verify_checksum(&self) -> Result<()> {
        if self.checksum_ok()? == Some(false) {
            return Err(corrupted("the encrypted payload does not match its checksum: the file is truncated or damaged"));
        }
        Ok(())
    }

    pub(super) fn decrypt(&self, password: &str) -> Result<Vec<Entry>> {
        self.verify_checksum()?;
        let plain = unseal(password.as_bytes(), &self.header, self.ciphertext())?;
        decode_entries(&plain)
    }
}

/// Header and metadata only (list and inspect read no more of the file).
pub(super) fn read_head(path: &Path) -> Result<(Header, BackupMetadata, u64)> {
    let mut f = fs::File::open(path).map_err(|e| if e.kind() == ErrorKind::NotFound { not_found(path) } else { e.into() })?;
    let size = f.metadata()?.len();
    let mut h = [0u8; HEADER_LEN];
    let n = read_up_to(&mut f, &mut h)?;
    let header = Header::parse(&h[..n])?;
    let meta_len = header.metadata_len as usize;
    if meta_len > MAX_METADATA_LEN || (HEADER_LEN + meta_len) as u64 > size {
        return Err(invalid_format(format!("metadata length {meta_len} runs past the end of the file ({size} bytes)")));
    }
    let mut raw = vec![0u8; meta_len];
    f.read_exact(&mut raw)?;
    Ok((header, parse_metadata(&raw)?, size))
}

fn read_up_to(f: &mut fs::File, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::backup::time::{compact_ms, iso_ms};

    #[test]
    fn header_round_trips_little_endian() {
        let h = Header { version: 1, reserved: 0, metadata_len: 518, salt: [1; 16], nonce: [2; 12], tag: [3; 16] };
        let b = h.encode();
        assert_eq!(&b[0..8], b"WAIAAS\x00\x01");
        assert_eq!(&b[8..16], &[1, 0, 0, 0, 6, 2, 0, 0]);
        assert_eq!(Header::parse(&b).unwrap(), h);
        let mut v2 = b;
        v2[8] = 2;
        assert_eq!(Header::parse(&v2).unwrap_err().code, ErrorCode::UNSUPPORTED_BACKUP_VERSION);
        let mut bad = b;
        bad[0] = b'X';
        assert_eq!(Header::parse(&bad).unwrap_err().code, ErrorCode::INVALID_BACKUP_FORMAT);
        assert_eq!(Header::parse(&b[..59]).unwrap_err().code, ErrorCode::INVALID_BACKUP_FORMAT);
    }

    #[test]
    fn entries_round_trip_and_reject_truncation() {
        let entries = vec![
            Entry { name: "waiaas.db".into(), data: Zeroizing::new(vec![7; 300]) },
            Entry { name: "keystore/a.json".into(), data: Zeroizing::new(b"{}".to_vec()) },
        ];
        let enc = encode_entries(&entries).unwrap();
        assert_eq!(&enc[0..2], &[9, 0]);
        assert_eq!(&enc[11..19], &300u64.to_le_bytes());
        let dec = decode_entries(&enc).unwrap();
        assert_eq!(dec.len(), 2);
        assert_eq!(dec[1].name, "keystore/a.json");
        assert_eq!(*dec[0].data, vec![7; 300]);
        for cut in [1, 5, 15, enc.len() - 1] {
            assert_eq!(decode_entries(&enc[..cut]).err().unwrap().code, ErrorCode::BACKUP_CORRUPTED, "cut at {cut}");
        }
    }

    #[test]
    fn metadata_keeps_upstream_field_order() {
        let m = BackupMetadata {
            created_at: iso_ms(1_795_714_459_961),
            daemon_version: "x".into(),
            schema_version: 5,
            kdf: "argon2id".into(),
            kdf_params: KdfParamsMeta::default(),
            contents: Contents { database: FileInfo { name: "waiaas.db".into(), size: 1 }, config: None, keystore_files: vec![] },
            checksum: Some("sha256:00".into()),
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(
            s,
            r#"{"created_at":"2026-11-26T17:34:19.961Z","daemon_version":"x","schema_version":5,"kdf":"argon2id","kdf_params":{"memory_cost":65536,"time_cost":3,"parallelism":4,"hash_length":32},"contents":{"database":{"name":"waiaas.db","size":1},"keystore_files":[]},"checksum":"sha256:00"}"#
        );
        assert_eq!(compact_ms(1_795_714_459_961), "20261126-173419961");
    }
}
