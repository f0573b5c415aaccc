#![allow(clippy::unwrap_used, missing_docs)]
//! The modules of `plugboard-core` depend on each other one way: no import
//! cycle between the top-level modules of `core/src` (what `ARCHITECTURE.md`
//! draws). A reference is `crate::module` anywhere in a module's files
//! outside comments and its unit tests.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

fn rust_files(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
    } else if let Ok(dir) = std::fs::read_dir(path) {
        for e in dir.flatten() {
            rust_files(&e.path(), out);
        }
    }
}

/// The code of a file without comments and without its `mod tests`.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Module → the modules its code names (`crate::x`, `use crate::{x, …}`).
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeMap<String, std::path::PathBuf> = std::fs::read_dir(src)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let module = name.strip_suffix(".rs").unwrap_or(&name).to_string();
            (module != "lib" && module != "bin").then_some((module, p))
        })
        .collect();
    let mut graph = BTreeMap::new();
    for (module, path) in &modules {
        let mut files = Vec::new();
        rust_files(path, &mut files);
        let mut uses = BTreeSet::new();
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        {
            let code = code(&std::fs::read_to_string(file).unwrap());
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                    // `use crate::{a, b::c, d::{e}}`: the first segment of each item.
                    let mut depth = 1;
                    let end = group
                        .char_indices()
                        .find(|(_, c)| {
                            match c {
                                '{' => depth += 1,
                                '}' => depth -= 1,
                                _ => {}
                            }
                            depth == 0
                        })
                        .map_or(group.len(), |(j, _)| j);
                    let mut top = Vec::new();
                    let mut depth = 0;
                    let mut start = 0;
                    for (j, c) in group[..end].char_indices() {
                        match c {
                            '{' => depth += 1,
                            '}' => depth -= 1,
                            ',' if depth == 0 => {
                                top.push(&group[start..j]);
                                start = j + 1;
                            }
                            _ => {}
                        }
                    }
                    top.push(&group[start..end]);
                    top.into_iter()
                        .map(|item| item.trim().split("::").next().unwrap_or("").trim())
                        .collect()
                } else {
                    let end = rest
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len());
                    vec![&rest[..end]]
                };
                for name in names {
                    if name != module && modules.contains_key(name) {
                        uses.insert(name.to_string());
                    }
                }
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// A cycle through `from`, if any (depth-first search).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_of_core_imports_one_that_imports_it_back() {
    let graph = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.len() > 20, "found the modules: {graph:?}");
    assert!(
        graph["runtime"].contains("registry") && graph["http"].contains("runtime"),
        "the scan sees references: {graph:?}"
    );
    if let Some(cycle) = cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" → "));
    }
}
