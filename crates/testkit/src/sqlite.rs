//! A temporary directory for a SQLite file (or any other files a test writes).

use std::path::PathBuf;

use uuid::Uuid;

/// A SQLite file in a fresh temporary directory, removed when the value is dropped.
#[derive(Debug)]
pub struct TempSqlite {
    dir: PathBuf,
}

impl TempSqlite {
    /// A fresh directory; the database file itself is created on first connect.
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("onboarding-test-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("could not create a temporary directory");
        Self { dir }
    }

    /// The directory, usable as the service's data directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The database file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join("customers.db")
    }
}

impl Default for TempSqlite {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
