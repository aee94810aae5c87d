//! Links libsonic for espeak-ng (built by espeak-rs-sys against the system `libsonic-dev`),
//! whose build script does not ask for it.

fn main() {
    println!("cargo:rustc-link-lib=sonic");
}
