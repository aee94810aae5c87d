//! Passwords and tokens: argon2 for passwords (slow on purpose), SHA-256 for API tokens (long
//! random strings need no stretching, and every API call checks one), and the random strings
//! behind sessions, CSRF tokens and generated passwords.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `bytes` random bytes from the operating system, as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    hex(&random_bytes(bytes))
}

/// A password of 20 letters and digits (about 119 bits) for the generated admin account.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    // 256 is not a multiple of the alphabet: drop the bytes that would skew the choice.
    let fair = 256 - 256 % ALPHABET.len();
    let mut password = String::new();
    while password.len() < 20 {
        for b in random_bytes(32) {
            if usize::from(b) < fair && password.len() < 20 {
                password.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    password
}

/// An argon2id PHC string of `password` with a fresh salt (the `[[user]] password_hash`).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&random_bytes(16)).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

/// Whether `phc` is a PHC string argon2 can check passwords against.
pub fn check_password_hash(phc: &str) -> Result<(), String> {
    PasswordHash::new(phc).map(|_| ()).map_err(|e| {
        format!("not an argon2 PHC string ({e}); make one with `switchboard user hash-password`")
    })
}

/// Whether `password` matches the PHC string (checked by [`check_password_hash`] at start).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A new API token and its SHA-256 hex hash (the `[[token]] token_hash`).
pub fn new_token() -> (String, String) {
    let token = format!("sbt_{}", random_hex(24));
    let hash = token_hash(&token);
    (token, hash)
}

/// The SHA-256 hex hash of a token.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(check_password_hash(&phc).is_ok());
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horse!", &phc));
        assert!(check_password_hash("plain text").is_err());
        assert!(!verify_password("x", "plain text"));
    }

    #[test]
    fn tokens_and_random_strings() {
        let (token, hash) = new_token();
        assert_eq!(token_hash(&token), hash);
        assert_eq!(hash.len(), 64);
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(random_hex(16), random_hex(16));
        let password = random_password();
        assert_eq!(password.len(), 20);
        assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
