//! The layer rules of ARCHITECTURE.md, checked: each layer may import only the layers below it,
//! read from the `crate::` paths in its source files, and no file in the engine grows past
//! what one reader holds in their head.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each layer (a module folder or file under `src/`) and the crate modules it may use besides
/// itself. Everything not listed for a layer is forbidden to it.
const LAYERS: &[(&str, &[&str])] = &[
    ("timeline", &[]),
    ("resample", &[]),
    ("picture", &[]),
    ("wav_file", &[]),
    ("instruments", &["timeline"]),
    ("midi_file", &["timeline"]),
    ("model", &["timeline", "instruments", "resample"]),
    ("params", &["timeline", "instruments", "model"]),
    ("bridge", &["timeline", "params", "model"]),
    ("audio", &["timeline", "params", "bridge"]),
    (
        "engine",
        &[
            "timeline",
            "params",
            "bridge",
            "model",
            "resample",
            "midi_file",
            "instruments",
        ],
    ),
    ("eval", &["timeline", "model", "midi_file"]),
    (
        "editor",
        &["timeline", "params", "bridge", "model", "engine"],
    ),
];

/// Longest file in `engine/`, in lines (tests included).
const MAX_ENGINE_FILE_LINES: usize = 400;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file of a layer: `src/NAME.rs` and everything under `src/NAME/`.
fn layer_files(name: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let single = src_dir().join(format!("{name}.rs"));
    if single.is_file() {
        files.push(single);
    }
    let mut dirs = vec![src_dir().join(name)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The crate modules a source text names through `crate::NAME`, outside comments.
fn crate_modules(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(idx) = rest.find("crate::") {
            rest = &rest[idx + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

mod layers {
    use super::*;

    #[test]
    fn no_layer_imports_one_above_it() {
        let mut broken = Vec::new();
        for &(layer, allowed) in LAYERS {
            let files = layer_files(layer);
            assert!(!files.is_empty(), "no source files for layer {layer}");
            for file in files {
                let source = std::fs::read_to_string(&file).unwrap();
                for module in crate_modules(&source) {
                    if module != layer && !allowed.contains(&module.as_str()) {
                        broken.push(format!("{} uses crate::{module}", file.display()));
                    }
                }
            }
        }
        assert!(
            broken.is_empty(),
            "layer rules broken:\n{}",
            broken.join("\n")
        );
    }

    #[test]
    fn the_scan_sees_imports_and_skips_comments() {
        let found = crate_modules(
            "use crate::bridge::{A, B};\n// crate::audio in a comment\nlet x = crate::model::load(p); // crate::engine",
        );
        let found: Vec<_> = found.into_iter().collect();
        assert_eq!(found, vec!["bridge".to_string(), "model".to_string()]);
    }

    #[test]
    fn every_top_level_module_has_a_layer() {
        let lib = std::fs::read_to_string(src_dir().join("lib.rs")).unwrap();
        let known: BTreeSet<&str> = LAYERS.iter().map(|(name, _)| *name).collect();
        for line in lib.lines() {
            if let Some(name) = line
                .strip_prefix("pub mod ")
                .and_then(|l| l.strip_suffix(';'))
            {
                // The offline renderer is the top: it wires a whole plugin, as lib.rs does.
                if name != "offline" {
                    assert!(known.contains(name), "module {name} has no layer rule");
                }
            }
        }
    }

    #[test]
    fn no_engine_file_is_too_long_to_read() {
        for file in layer_files("engine") {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            assert!(
                lines <= MAX_ENGINE_FILE_LINES,
                "{} has {lines} lines (at most {MAX_ENGINE_FILE_LINES})",
                file.display()
            );
        }
    }
}
