//! Every Rust snippet in README.md and docs/ that shows a `main` is the source
//! of an example crate, which the workspace builds and `examples/*/tests` run,
//! and the dependency block next to it names what that crate depends on. Code
//! in the docs compiles as written, and a program the docs show is tested.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The example crates whose `main.rs` the docs may show.
const EXAMPLES: &[&str] = &["examples/axum"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fenced block: its info string and its text.
#[derive(Debug)]
struct Block {
    lang: String,
    text: String,
    line: usize,
}

/// The fenced code blocks of a Markdown text, in order.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some(Block {
                    lang: lang.trim().to_owned(),
                    text: String::new(),
                    line: number + 1,
                })
            }
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block: {open:?}");
    blocks
}

/// `main.rs` of an example from its first line after the `//!` header.
fn example_source(example: &str) -> String {
    let source = read(&root().join(example).join("src/main.rs"));
    let mut lines = source.lines().peekable();
    while lines.next_if(|line| line.starts_with("//!")).is_some() {}
    while lines.next_if(|line| line.is_empty()).is_some() {}
    lines.map(|line| format!("{line}\n")).collect()
}

/// The names under `[dependencies]` of a manifest or a snippet of one.
fn dependency_names(toml: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut inside = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[dependencies]";
        } else if inside {
            if let Some((name, _)) = line.split_once('=') {
                if !line.starts_with('#') {
                    names.insert(name.trim().to_owned());
                }
            }
        }
    }
    names
}

/// README.md and every Markdown file under docs/.
fn documents() -> Vec<PathBuf> {
    let mut documents = vec![root().join("README.md")];
    let docs = std::fs::read_dir(root().join("docs")).expect("docs/");
    for entry in docs {
        let path = entry.expect("a docs/ entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            documents.push(path);
        }
    }
    documents.sort();
    documents
}

#[test]
fn every_main_in_the_docs_is_an_example_crate_with_its_dependencies() {
    let examples: Vec<(&str, String, BTreeSet<String>)> = EXAMPLES
        .iter()
        .map(|example| {
            let manifest = read(&root().join(example).join("Cargo.toml"));
            (
                *example,
                example_source(example),
                dependency_names(&manifest),
            )
        })
        .collect();
    let mut shown = 0;
    for document in documents() {
        let name = document.strip_prefix(root()).unwrap().display().to_string();
        let blocks = blocks(&read(&document));
        for (i, block) in blocks.iter().enumerate() {
            if block.lang != "rust" || !block.text.contains("fn main") {
                continue;
            }
            let Some((example, _, dependencies)) =
                examples.iter().find(|(_, source, _)| *source == block.text)
            else {
                panic!(
                    "{name}:{}: a `main` that is no example's: make it an example crate's \
                     src/main.rs (from its first line after the `//!` header) and list it in \
                     EXAMPLES, or copy it from one; the examples are {EXAMPLES:?}",
                    block.line
                );
            };
            // The dependency block right before or right after the snippet.
            let neighbours = [i.checked_sub(1), Some(i + 1)];
            let toml = neighbours
                .into_iter()
                .flatten()
                .filter_map(|j| blocks.get(j))
                .find(|b| b.lang == "toml" && b.text.contains("[dependencies]"))
                .unwrap_or_else(|| {
                    panic!(
                        "{name}:{}: no ```toml [dependencies] block next to the snippet",
                        block.line
                    )
                });
            assert_eq!(
                &dependency_names(&toml.text),
                dependencies,
                "{name}:{}: the dependency block does not name what {example}/Cargo.toml depends on",
                toml.line
            );
            shown += 1;
        }
    }
    // README.md's first example and docs/nais.md's.
    assert!(shown >= 2, "{shown} snippets with a `main` found");
}

#[test]
fn the_readme_begins_with_the_axum_example() {
    let readme = read(&root().join("README.md"));
    let first = blocks(&readme)
        .into_iter()
        .find(|b| b.lang == "rust")
        .expect("a Rust block in README.md");
    assert_eq!(first.text, example_source("examples/axum"));
}
