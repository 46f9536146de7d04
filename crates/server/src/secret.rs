//! The token-signing secret: explicit from JWT_SECRET, or — for zero-configuration
//! development on SQLite — generated once and kept in the data directory (mode 0600)
//! so tokens survive restarts.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use api::auth::MIN_SECRET_BYTES;
use rand::RngCore as _;

use crate::config::{Config, Storage};

/// Where the secret came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// JWT_SECRET.
    Environment,
    /// Read from a file generated earlier.
    File(PathBuf),
    /// Generated just now into a file.
    Generated(PathBuf),
}

/// The file a generated development secret lives in.
pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join("jwt_secret")
}

/// Finds the secret to sign and verify tokens with.
pub fn resolve(config: &Config, storage: &Storage) -> anyhow::Result<(Vec<u8>, SecretSource)> {
    if let Some(secret) = config.auth.jwt_secret.as_deref() {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_BYTES,
            "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long (got {})",
            secret.len()
        );
        return Ok((secret.as_bytes().to_vec(), SecretSource::Environment));
    }
    if matches!(storage, Storage::Postgres(_)) {
        anyhow::bail!(
            "JWT_SECRET is required when DATABASE_URL points at PostgreSQL \
             (set it to at least {MIN_SECRET_BYTES} random bytes, e.g. `openssl rand -hex 32`)"
        );
    }
    let path = secret_path(&config.database.data_dir);
    match read_secret(&path)? {
        Some(secret) => Ok((secret, SecretSource::File(path))),
        None => generate(&path),
    }
}

fn read_secret(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let secret = text.trim().as_bytes().to_vec();
            anyhow::ensure!(
                secret.len() >= MIN_SECRET_BYTES,
                "the development secret in {} is shorter than {MIN_SECRET_BYTES} bytes; delete it to generate a new one",
                path.display()
            );
            Ok(Some(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
    }
}

fn generate(path: &Path) -> anyhow::Result<(Vec<u8>, SecretSource)> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the data directory {}", dir.display()))?;
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("could not write {}", path.display()))?;
            Ok((
                secret.into_bytes(),
                SecretSource::Generated(path.to_owned()),
            ))
        }
        // Another process (a second `server token`, say) generated it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_secret(path)?
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
}
