//! The first-start admin account (as Jenkins does it): while the config names no `[[user]]`,
//! the gateway makes a random password for `admin`, keeps it in a file only the owner can read
//! (so it survives restarts) and prints it at start-up. Configuring any `[[user]]` retires it.

use std::io::Write;
use std::path::Path;

use super::secrets::random_password;

/// The generated account's name.
pub const ADMIN_NAME: &str = "admin";

/// The password kept in `file`, made and written there (mode 0600) when the file does not
/// exist yet.
pub fn load_or_create(file: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(file) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let password = random_password();
    let mut out = std::fs::OpenOptions::new();
    out.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut out, 0o600);
    writeln!(out.open(file)?, "{password}")?;
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("var/admin-password");
        let first = load_or_create(&file).unwrap();
        assert_eq!(first.len(), 20);
        assert_eq!(
            load_or_create(&file).unwrap(),
            first,
            "kept across restarts"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
