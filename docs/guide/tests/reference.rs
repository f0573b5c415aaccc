//! `reference.md` is what the types say.

#[test]
fn the_reference_page_matches_the_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/reference.md");
    let generated = plugboard_guide::reference::markdown();
    if std::env::var_os("PLUGBOARD_BLESS").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/guide/reference.md is out of date with the types: run `PLUGBOARD_BLESS=1 cargo test -p plugboard-guide --test reference`"
    );
}
