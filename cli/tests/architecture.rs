//! The layering ARCHITECTURE.md promises ("Adding a device class" and the invariants), checked against the tree:
//! every workspace crate sits in a layer, its `[dependencies]` come only from the layers below it, and the product
//! code of the layers that must never see a simulator does not name one. A new crate in an unknown folder fails
//! here until it is given a layer (and a line in ARCHITECTURE.md).

use std::path::{Path, PathBuf};

/// Layers, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// Pure building blocks: links and transports, the matching core.
    Core,
    /// The host side of a device protocol: codec + driver.
    Driver,
    /// A simulator, the world model, the simulator host and registry.
    Sim,
    /// The clearance flow and the gate controller: drives devices through drivers only.
    Flow,
    /// The border point that plays scenarios: the flow and the simulated world, tied together.
    Scenario,
    /// Conformance suites: see a device through its codec only.
    Conformance,
    /// A reference implementation for measurements (NBIS).
    Reference,
    /// The `khil` binary: may use everything.
    Binary,
    /// Dev-only test helpers: never a normal dependency.
    Test,
}

/// The layer of the crate in `folder` (relative to the workspace root).
fn layer(folder: &str) -> Option<Layer> {
    Some(match folder {
        "drivers/link" | "drivers/apdu" | "biometrics" => Layer::Core,
        "biometrics/nbis" => Layer::Reference,
        // The document examiner: host-side logic over what readers and chips return, like the flow that uses it.
        "clearance" | "examine" => Layer::Flow,
        "scenario" => Layer::Scenario,
        "conformance" => Layer::Conformance,
        "cli" => Layer::Binary,
        "test-support" => Layer::Test,
        f if f.starts_with("drivers/") => Layer::Driver,
        f if f.starts_with("sim/") => Layer::Sim,
        _ => return None,
    })
}

/// What a crate of `layer` may name in `[dependencies]`.
fn allowed(layer: Layer) -> &'static [Layer] {
    use Layer::*;
    match layer {
        Core | Reference => &[Core],
        Driver | Conformance => &[Core, Driver],
        // The clearance flow examines documents with the examiner, which sits in its layer.
        Flow => &[Core, Driver, Flow],
        Sim => &[Core, Driver, Sim],
        Scenario => &[Core, Driver, Sim, Flow],
        Binary => &[Core, Driver, Sim, Flow, Scenario, Conformance, Reference],
        Test => &[Core, Driver, Sim, Flow, Scenario, Conformance, Reference, Binary],
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn manifest(path: &Path) -> toml::Table {
    std::fs::read_to_string(path).unwrap().parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every member folder, with its package name and manifest.
fn members() -> Vec<(String, String, toml::Table)> {
    let root = root();
    let workspace = manifest(&root.join("Cargo.toml"));
    let members = workspace["workspace"]["members"].as_array().unwrap();
    members
        .iter()
        .map(|m| {
            let folder = m.as_str().unwrap().to_owned();
            let table = manifest(&root.join(&folder).join("Cargo.toml"));
            let name = table["package"]["name"].as_str().unwrap().to_owned();
            (folder, name, table)
        })
        .collect()
}

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let members = members();
    let layer_of = |name: &str| {
        members.iter().find(|(_, n, _)| n == name).map(|(f, _, _)| layer(f).unwrap_or_else(|| panic!("{f}: no layer")))
    };
    let mut broken = Vec::new();
    for (folder, name, table) in &members {
        let Some(own) = layer(folder) else {
            broken.push(format!(
                "{folder} ({name}): a crate in a folder with no layer: give it one here and in ARCHITECTURE.md"
            ));
            continue;
        };
        let deps = table.get("dependencies").and_then(toml::Value::as_table);
        for dep in deps.into_iter().flat_map(|d| d.keys()) {
            let Some(theirs) = layer_of(dep) else { continue };
            if !allowed(own).contains(&theirs) {
                broken.push(format!("{name} ({own:?}) depends on {dep} ({theirs:?})"));
            }
        }
    }
    assert!(broken.is_empty(), "the layering of ARCHITECTURE.md is broken:\n{}", broken.join("\n"));
    assert!(members.len() >= 14, "every member was read: {}", members.len());
}

/// Drivers, the clearance flow and the conformance suites never name a simulator in their product code (tests may
/// put a simulator behind a driver; `[dev-dependencies]` are not checked above).
#[test]
fn no_driver_flow_or_suite_names_a_simulator() {
    let mut offending = Vec::new();
    for (folder, _, _) in members() {
        if !matches!(layer(&folder), Some(Layer::Core | Layer::Driver | Layer::Flow | Layer::Conformance)) {
            continue;
        }
        let mut stack = vec![root().join(&folder).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (n, line) in text.lines().enumerate() {
                        let code = line.split("//").next().unwrap_or_default();
                        if code.contains("khil_sim_") {
                            offending.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                        }
                    }
                }
            }
        }
    }
    assert!(offending.is_empty(), "product code that must not see a simulator names one:\n{}", offending.join("\n"));
}

/// The checks above can fail: a made-up manifest that breaks each rule is caught.
#[test]
fn the_layer_rules_refuse_what_they_should() {
    assert!(!allowed(Layer::Driver).contains(&Layer::Sim), "a driver may not depend on a simulator");
    assert!(!allowed(Layer::Flow).contains(&Layer::Sim), "the flow drives devices through drivers only");
    assert!(!allowed(Layer::Conformance).contains(&Layer::Sim), "a suite sees a device through its codec");
    assert!(!allowed(Layer::Core).contains(&Layer::Driver));
    assert!(!allowed(Layer::Binary).contains(&Layer::Test), "test helpers are never a normal dependency");
    assert_eq!(layer("sim/passport"), Some(Layer::Sim));
    assert_eq!(layer("drivers/mrtd"), Some(Layer::Driver));
    assert_eq!(layer("scenarios"), None, "an unknown folder has no layer until one is given");
}
