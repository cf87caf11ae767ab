//! Storage in a real directory: files, fsync of files, fsync of the
//! directory after creates, renames and removes.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{FileBytes, Storage};
use crate::error::IoError;

/// A directory on a real file system.
#[derive(Debug)]
pub struct DirStorage {
    dir: PathBuf,
}

impl DirStorage {
    /// Opens (creating if needed) the directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, IoError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| IoError::new(format!("create dir {}", dir.display()), &e))?;
        Ok(DirStorage { dir })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, name: &str) -> PathBuf {
        assert!(!name.contains('/') && !name.contains('\\'), "file names are flat");
        self.dir.join(name)
    }

    /// Opens `name` for appending and writes `data` at its end; returns the
    /// handle, through which a caller that syncs next syncs it.
    fn append_to(&self, name: &str, data: &[u8]) -> Result<File, IoError> {
        let op = || format!("append {name}");
        let mut file = OpenOptions::new()
            .append(true)
            .open(self.path_of(name))
            .map_err(|e| IoError::new(op(), &e))?;
        file.write_all(data).map_err(|e| IoError::new(op(), &e))?;
        Ok(file)
    }
}

impl Storage for DirStorage {
    fn list(&self) -> Result<Vec<String>, IoError> {
        let op = || format!("list {}", self.dir.display());
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| IoError::new(op(), &e))? {
            let entry = entry.map_err(|e| IoError::new(op(), &e))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn read(&self, name: &str) -> Result<Option<FileBytes>, IoError> {
        let mut file = match File::open(self.path_of(name)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(IoError::new(format!("open {name}"), &e)),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| IoError::new(format!("read {name}"), &e))?;
        Ok(Some(FileBytes::new(bytes)))
    }

    fn create(&mut self, name: &str) -> Result<(), IoError> {
        File::create(self.path_of(name)).map_err(|e| IoError::new(format!("create {name}"), &e))?;
        Ok(())
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), IoError> {
        self.append_to(name, data).map(drop)
    }

    fn sync(&mut self, name: &str) -> Result<(), IoError> {
        let file = File::open(self.path_of(name)).map_err(|e| IoError::new(format!("sync {name}"), &e))?;
        file.sync_all()
            .map_err(|e| IoError::new(format!("sync {name}"), &e))
    }

    /// One open for both: the file is synced through the handle it was
    /// appended through.
    fn append_synced(&mut self, name: &str, data: &[u8]) -> Result<(), IoError> {
        self.append_to(name, data)?
            .sync_all()
            .map_err(|e| IoError::new(format!("sync {name}"), &e))
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), IoError> {
        fs::rename(self.path_of(from), self.path_of(to))
            .map_err(|e| IoError::new(format!("rename {from} -> {to}"), &e))
    }

    fn remove(&mut self, name: &str) -> Result<(), IoError> {
        match fs::remove_file(self.path_of(name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(IoError::new(format!("remove {name}"), &e)),
        }
    }

    fn sync_dir(&mut self) -> Result<(), IoError> {
        let dir = File::open(&self.dir).map_err(|e| IoError::new("sync dir", &e))?;
        dir.sync_all().map_err(|e| IoError::new("sync dir", &e))
    }

    fn detached_syncer(&self, name: &str) -> Option<Box<dyn FnOnce() -> Result<(), IoError> + Send>> {
        let path = self.path_of(name);
        let name = name.to_owned();
        Some(Box::new(move || {
            let file = File::open(path).map_err(|e| IoError::new(format!("sync {name}"), &e))?;
            file.sync_data()
                .map_err(|e| IoError::new(format!("sync {name}"), &e))
        }))
    }
}
