//! Every `plugin.json` shown in the guide is one the host accepts (the
//! Rust blocks are doc tests; the manifests are checked here).

#[test]
fn every_manifest_in_the_guide_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for block in text.split("```json\n").skip(1) {
            let json = &block[..block.find("```").unwrap()];
            if !json.contains("\"slug\"") {
                continue;
            }
            if let Err(e) = plugboard_manifest::Manifest::from_json(json) {
                panic!(
                    "{}: a manifest the host refuses: {e}\n{json}",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} manifests found");
}
