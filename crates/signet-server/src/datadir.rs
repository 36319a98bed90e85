//! The data directory holds password hashes and the sealed signing keys: it is made private
//! (0700, its database files 0600), and the issuer refuses to start when it, or the master key
//! file, can be read by other users.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// The modes that let other users in.
#[cfg(unix)]
const OPEN_TO_OTHERS: u32 = 0o077;

/// Refuses `path` when its mode lets other users read or enter it.
#[cfg(unix)]
pub(crate) fn refuse_if_shared(path: &Path, what: &str, fix: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .permissions()
        .mode();
    if mode & OPEN_TO_OTHERS != 0 {
        bail!(
            "{what} {} is open to other users (mode {:o}); run `chmod {fix} {}`",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn refuse_if_shared(_path: &Path, _what: &str, _fix: &str) -> Result<()> {
    Ok(())
}

/// Makes `dir` private: created 0700 when missing, made 0700 when `fresh` (it holds nothing of
/// the issuer's yet, such as a folder someone else made for it), and refused when it holds the
/// issuer's files and other users can read it.
pub(crate) fn private_dir(dir: &Path, fresh: bool) -> Result<()> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    } else if fresh {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict {}", dir.display()))?;
        }
    }
    refuse_if_shared(dir, "the data directory", "700")
}

/// Makes the database's folder private (see [`private_dir`]) and the database file `db` 0600
/// before SQLite opens it (its `-wal` and `-shm` files take the same mode).
pub(crate) fn prepare(dir: &Path, db: &Path) -> Result<()> {
    private_dir(dir, !db.exists())?;
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(db)
        .with_context(|| format!("cannot create {}", db.display()))?;
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let file = db.with_file_name(format!(
            "{}{suffix}",
            db.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("signet.db")
        ));
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
            // Not there (yet, or any more: a closing connection removes the `-wal` file).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other.with_context(|| format!("cannot restrict {}", file.display()))?,
        }
    }
    Ok(())
}
