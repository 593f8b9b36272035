//! The deployment files: what can be checked here without Docker or a
//! cluster — they parse, the Helm chart renders to valid manifests, the
//! systemd unit verifies (with systemd-analyze, when installed), the example
//! configuration file is accepted by the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(path: &Path) -> Vec<Yaml> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A tiny Helm: `{{ .Release.Name }}` and `{{ .Values.a.b }}` substituted,
/// `{{- if/end }}` lines dropped (every optional block rendered).
fn render(text: &str, values: &Yaml) -> String {
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("{{-")) {
        let mut line = line.replace("{{ .Release.Name }}", "test");
        while let Some(start) = line.find("{{ .Values.") {
            let end = line[start..].find("}}").map(|e| start + e + 2).unwrap_or(line.len());
            let path = line[start + "{{ .Values.".len()..end - 2].trim().to_string();
            let value = path.split('.').fold(values, |v, k| &v[k]);
            let text = match value {
                Yaml::String(s) => s.clone(),
                Yaml::Integer(i) => i.to_string(),
                Yaml::Boolean(b) => b.to_string(),
                other => panic!("{path}: no value ({other:?})"),
            };
            line.replace_range(start..end, &text);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn compose_and_helm_chart_parse_and_render() {
    let compose = &load(&repo().join("deploy/compose.yaml"))[0];
    for node in ["latchkey-1", "latchkey-2"] {
        let env = &compose["services"][node]["environment"];
        assert!(env["LATCHKEY_REDIS_URL"].as_str().is_some(), "{node} shares Redis");
        assert!(env["LATCHKEY_TRUSTED_PROXIES"].as_str().is_some(), "{node} trusts the proxy");
    }
    assert!(compose["services"]["proxy"].as_hash().is_some(), "a TLS proxy in front");
    let chart = repo().join("deploy/helm/latchkey");
    assert_eq!(load(&chart.join("Chart.yaml"))[0]["name"].as_str(), Some("latchkey"));
    let values = load(&chart.join("values.yaml")).remove(0);
    let mut kinds = Vec::new();
    for entry in std::fs::read_dir(chart.join("templates")).expect("templates").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("template");
        let docs = YamlLoader::load_from_str(&render(&text, &values)).unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        for d in docs {
            kinds.push(d["kind"].as_str().unwrap_or_default().to_string());
            if d["kind"].as_str() == Some("Deployment") {
                let c = &d["spec"]["template"]["spec"]["containers"][0];
                assert_eq!(c["readinessProbe"]["httpGet"]["path"].as_str(), Some("/health/ready"));
                assert_eq!(c["livenessProbe"]["httpGet"]["path"].as_str(), Some("/health/live"));
                assert_eq!(d["spec"]["replicas"].as_i64(), Some(2));
            }
        }
    }
    kinds.sort();
    assert_eq!(kinds, ["ConfigMap", "Deployment", "Secret", "Service", "ServiceMonitor"]);
}

#[test]
fn the_systemd_unit_verifies() {
    let Ok(which) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("\n!!! SKIPPED: systemd-analyze is not installed; the unit is NOT verified\n");
        return;
    };
    assert!(which.status.success());
    // Point ExecStart at the binary just built (the unit names its installed path).
    let unit = std::fs::read_to_string(repo().join("deploy/latchkey.service")).expect("unit");
    let dir = std::env::temp_dir().join(format!("latchkey-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("latchkey.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/latchkey", env!("CARGO_BIN_EXE_latchkey"))).expect("write");
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output().expect("verify");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
    // Lines about the host (no running systemd in a container) are not the unit's fault.
    let about_unit: Vec<&str> = report.lines().filter(|l| l.contains("latchkey.service")).collect();
    assert!(about_unit.is_empty(), "{report}");
}

#[test]
fn the_example_configuration_is_accepted() {
    let dir = std::env::temp_dir().join(format!("latchkey-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let example = std::fs::read_to_string(repo().join("deploy/latchkey.example.toml")).expect("example");
    let config = dir.join("latchkey.toml");
    std::fs::write(&config, example.replace("/var/lib/latchkey", &dir.display().to_string())).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["--config", &config.display().to_string(), "doctor"])
        .env_remove("LATCHKEY_DATA_DIR")
        .env_remove("LATCHKEY_ISSUER")
        .env("LATCHKEY_LOG", "error")
        .output()
        .expect("doctor");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(text.contains("PASS  the issuer is https"), "{text}{}", String::from_utf8_lossy(&out.stderr));
}

/// Issue 24 item 29: the README's endpoint table is one table (no blank
/// line splits it, so Markdown renders every row) and no endpoint is listed
/// twice.
#[test]
fn the_readme_endpoint_table_is_whole() {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let section = text.split("\n## What it serves\n").nth(1).expect("the endpoint section");
    let section = section.split("\n## ").next().unwrap_or_default();
    let lines: Vec<&str> = section.lines().skip_while(|l| !l.starts_with('|')).collect();
    let table: Vec<&str> = lines.iter().take_while(|l| l.starts_with('|')).copied().collect();
    assert!(table.len() > 30, "the table: {} rows", table.len());
    assert!(!lines[table.len()..].iter().any(|l| l.starts_with('|')), "a blank line splits the endpoint table; rows after it render as text");
    let mut seen = std::collections::BTreeSet::new();
    for row in &table[2..] {
        let endpoint = row.split(" | ").next().unwrap_or_default();
        assert!(seen.insert(endpoint), "listed twice: {endpoint}");
    }
    assert!(seen.iter().any(|e| e.starts_with("| `GET /`")), "the issuer's own page is listed");
}
