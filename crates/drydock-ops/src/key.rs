//! `key generate`: an ECDSA P-256 pair in cosign's formats.
use std::io::Write as _;
use std::path::{Path, PathBuf};

use drydock_sign::{PrivateKey, SignError};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("`{}` already exists; remove it or choose another `--prefix`", .0.display())]
    Exists(PathBuf),
    #[error("cannot write `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Write `<dir>/<prefix>.key` (encrypted with `password`) and `<prefix>.pub`.
pub fn key_generate(
    dir: &Path,
    prefix: &str,
    password: &[u8],
) -> Result<(PathBuf, PathBuf), KeyError> {
    let private_path = dir.join(format!("{prefix}.key"));
    let public_path = dir.join(format!("{prefix}.pub"));
    for path in [&private_path, &public_path] {
        if path.exists() {
            return Err(KeyError::Exists(path.clone()));
        }
    }
    let key = PrivateKey::generate();
    let private_pem = key.to_encrypted_pem(password)?;
    let public_pem = key.public_key().to_pem()?;
    write_new(&private_path, private_pem.as_bytes(), 0o600)?;
    write_new(&public_path, public_pem.as_bytes(), 0o644)?;
    Ok((private_path, public_path))
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    use fs_err::os::unix::fs::OpenOptionsExt as _;
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)
}

/// Read a private key file with `password`.
pub(crate) fn read_private(path: &Path, password: &[u8]) -> Result<PrivateKey, KeyError> {
    let text = fs_err::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(PrivateKey::from_encrypted_pem(&text, password)?)
}

/// Read a public key file.
pub(crate) fn read_public(path: &Path) -> Result<drydock_sign::PublicKey, KeyError> {
    let text = fs_err::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(drydock_sign::PublicKey::from_pem(&text)?)
}
