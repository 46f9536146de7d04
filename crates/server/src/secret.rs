//! The service's own secrets — the token-signing secret and the key that seals webhook
//! signing secrets: explicit from the environment (JWT_SECRET, SECRETS_ENCRYPTION_KEY), or —
//! for zero-configuration development on SQLite — generated once and kept in the data
//! directory (mode 0600) so they survive restarts. With PostgreSQL they must be given:
//! a production database with a key on one instance's disk is a database no other instance
//! can use.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use api::auth::MIN_SECRET_BYTES;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::RngCore as _;
use zeroize::Zeroizing;

use crate::config::{Config, Storage};

/// Where the secret came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The environment (or its `--flag`).
    Environment,
    /// Read from a file generated earlier.
    File(PathBuf),
    /// Generated just now into a file.
    Generated(PathBuf),
}

/// One secret that production gives explicitly and development generates.
struct DevelopmentSecret {
    /// The setting that gives it.
    setting: &'static str,
    /// Its file in DATA_DIR.
    file: &'static str,
    /// How to make a good one, for the error message.
    advice: &'static str,
    /// Whether a value is acceptable; the message completes "SETTING …".
    check: fn(&str) -> Result<(), String>,
}

const JWT_SECRET: DevelopmentSecret = DevelopmentSecret {
    setting: "JWT_SECRET",
    file: "jwt_secret",
    advice: "at least 32 random bytes, e.g. `openssl rand -hex 32`",
    check: check_jwt_secret,
};

const ENCRYPTION_KEY: DevelopmentSecret = DevelopmentSecret {
    setting: "SECRETS_ENCRYPTION_KEY",
    file: "secrets_encryption_key",
    advice: "32 random bytes as 64 hex characters, e.g. `openssl rand -hex 32`",
    check: |text| decode_key(text).map(drop),
};

fn check_jwt_secret(secret: &str) -> Result<(), String> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "must be at least {MIN_SECRET_BYTES} bytes long (got {})",
            secret.len()
        ));
    }
    Ok(())
}

/// Reads a 32-byte key written as 64 hex characters or as base64.
fn decode_key(text: &str) -> Result<Zeroizing<[u8; 32]>, String> {
    let text = text.trim();
    let bytes = Zeroizing::new(if text.len() == 64 {
        hex::decode(text).map_err(|_| "must be 64 hex characters or base64 of 32 bytes")?
    } else {
        STANDARD
            .decode(text)
            .map_err(|_| "must be 64 hex characters or base64 of 32 bytes")?
    });
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return Err(format!("must be 32 bytes (got {})", bytes.len()));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// The file a generated development JWT secret lives in.
pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(JWT_SECRET.file)
}

/// The file a generated development encryption key lives in.
pub fn encryption_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(ENCRYPTION_KEY.file)
}

/// Finds the secret to sign and verify tokens with.
pub fn resolve(config: &Config, storage: &Storage) -> anyhow::Result<(Vec<u8>, SecretSource)> {
    let (secret, source) = resolve_secret(
        &JWT_SECRET,
        config.auth.jwt_secret.as_deref(),
        storage,
        &config.database.data_dir,
    )?;
    Ok((secret.as_bytes().to_vec(), source))
}

/// Finds the key that seals webhook signing secrets.
pub fn encryption_key(
    config: &Config,
    storage: &Storage,
) -> anyhow::Result<(Zeroizing<[u8; 32]>, SecretSource)> {
    let (text, source) = resolve_secret(
        &ENCRYPTION_KEY,
        config.webhooks.secrets_encryption_key.as_deref(),
        storage,
        &config.database.data_dir,
    )?;
    let key = decode_key(&text).map_err(|m| anyhow::anyhow!("SECRETS_ENCRYPTION_KEY {m}"))?;
    Ok((key, source))
}

fn resolve_secret(
    spec: &DevelopmentSecret,
    explicit: Option<&str>,
    storage: &Storage,
    data_dir: &Path,
) -> anyhow::Result<(Zeroizing<String>, SecretSource)> {
    if let Some(secret) = explicit {
        (spec.check)(secret).map_err(|m| anyhow::anyhow!("{} {m}", spec.setting))?;
        return Ok((Zeroizing::new(secret.to_owned()), SecretSource::Environment));
    }
    if matches!(storage, Storage::Postgres(_)) {
        anyhow::bail!(
            "{} is required when DATABASE_URL points at PostgreSQL (set it to {})",
            spec.setting,
            spec.advice
        );
    }
    let path = data_dir.join(spec.file);
    match read_secret(spec, &path)? {
        Some(secret) => Ok((secret, SecretSource::File(path))),
        None => generate(spec, &path),
    }
}

fn read_secret(spec: &DevelopmentSecret, path: &Path) -> anyhow::Result<Option<Zeroizing<String>>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            let secret = Zeroizing::new(text.trim().to_owned());
            (spec.check)(&secret).map_err(|m| {
                anyhow::anyhow!(
                    "the development secret in {} {m}; delete it to generate a new one",
                    path.display()
                )
            })?;
            Ok(Some(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
    }
}

/// Writes 32 random bytes, hex-encoded, to a new file only its owner can read.
fn generate(
    spec: &DevelopmentSecret,
    path: &Path,
) -> anyhow::Result<(Zeroizing<String>, SecretSource)> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the data directory {}", dir.display()))?;
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    let secret = Zeroizing::new(hex::encode(bytes.as_ref()));

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("could not write {}", path.display()))?;
            Ok((secret, SecretSource::Generated(path.to_owned())))
        }
        // Another process (a second `server token`, say) generated it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_secret(spec, path)?
            .map(|s| (s, SecretSource::File(path.to_owned())))
            .context("the development secret file vanished while being read"),
        Err(e) => Err(e).with_context(|| format!("could not create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path, extra: &[&str]) -> Config {
        let dir = dir.to_str().unwrap().to_owned();
        let mut args = vec!["server".to_owned(), "--data-dir".to_owned(), dir];
        args.extend(extra.iter().map(|s| s.to_string()));
        Config::from_args(args).unwrap()
    }

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("secret-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_generated_secret_is_kept_with_mode_0600_and_reused() {
        let dir = temp_dir();
        let c = config(&dir, &[]);
        let storage = c.database.storage().unwrap();
        let (first, source) = resolve(&c, &storage).unwrap();
        assert!(matches!(source, SecretSource::Generated(_)));
        assert_eq!(first.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(secret_path(&dir))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, source) = resolve(&c, &storage).unwrap();
        assert_eq!(again, first);
        assert!(matches!(source, SecretSource::File(_)));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn postgres_without_an_explicit_secret_is_refused() {
        let dir = temp_dir();
        let c = config(&dir, &["--database-url", "postgres://u@h/db"]);
        let err = resolve(&c, &c.database.storage().unwrap()).unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
        assert!(!secret_path(&dir).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_short_explicit_secret_is_refused() {
        let dir = temp_dir();
        let c = config(&dir, &["--jwt-secret", "too-short"]);
        let err = resolve(&c, &c.database.storage().unwrap()).unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_generated_encryption_key_is_kept_with_mode_0600_apart_from_the_jwt_secret() {
        let dir = temp_dir();
        let c = config(&dir, &[]);
        let storage = c.database.storage().unwrap();
        let (key, source) = encryption_key(&c, &storage).unwrap();
        assert!(matches!(source, SecretSource::Generated(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(encryption_key_path(&dir))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, source) = encryption_key(&c, &storage).unwrap();
        assert_eq!(*again, *key);
        assert!(matches!(source, SecretSource::File(_)));
        let (jwt, _) = resolve(&c, &storage).unwrap();
        assert_ne!(jwt, hex::encode(*key).into_bytes());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_explicit_key_is_read_as_hex_or_base64_of_32_bytes() {
        let dir = temp_dir();
        let hex_key = "00".repeat(31) + "ff";
        let c = config(&dir, &["--secrets-encryption-key", &hex_key]);
        let (key, source) = encryption_key(&c, &c.database.storage().unwrap()).unwrap();
        assert_eq!((key[31], source), (0xff, SecretSource::Environment));
        let b64 = STANDARD.encode([7u8; 32]);
        let c = config(&dir, &["--secrets-encryption-key", &b64]);
        let (key, _) = encryption_key(&c, &c.database.storage().unwrap()).unwrap();
        assert_eq!(*key, [7u8; 32]);
        for bad in ["short", &"zz".repeat(32), &STANDARD.encode([1u8; 16])] {
            let c = config(&dir, &["--secrets-encryption-key", bad]);
            let err = encryption_key(&c, &c.database.storage().unwrap()).unwrap_err();
            assert!(err.to_string().contains("SECRETS_ENCRYPTION_KEY"), "{err}");
        }
        assert!(!encryption_key_path(&dir).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn postgres_without_an_explicit_key_is_refused() {
        let dir = temp_dir();
        let c = config(
            &dir,
            &[
                "--database-url",
                "postgres://u@h/db",
                "--jwt-secret",
                &"s".repeat(32),
            ],
        );
        let err = encryption_key(&c, &c.database.storage().unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .contains("SECRETS_ENCRYPTION_KEY is required"),
            "{err}"
        );
        assert!(!encryption_key_path(&dir).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
