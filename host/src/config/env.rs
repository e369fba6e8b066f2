//! Environment overrides: `AVATAR__SECTION__KEY=value` layered over the file's JSON before it
//! is read into [`super::Config`].

use serde_json::Value;

/// Applies `AVATAR__A__B__C=value` as `a.b.c = value`: segments are lower-cased, a number
/// indexes an array. A value replacing a string stays a string; otherwise it is read as JSON
/// when it parses (numbers, booleans, objects) and as a string when not.
pub(super) fn apply_env(root: &mut Value, env: impl IntoIterator<Item = (String, String)>) {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("AVATAR__"))
        .collect();
    vars.sort();
    for (key, raw) in vars {
        let path: Vec<String> = key["AVATAR__".len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            continue;
        }
        set_path(root, &path, raw);
    }
}

/// Sets `path` under `node` to `raw`, creating objects on the way; an array index that does
/// not exist leaves the value unchanged.
fn set_path(node: &mut Value, path: &[String], raw: String) {
    let Some((segment, rest)) = path.split_first() else {
        *node = match node {
            Value::String(_) => Value::String(raw),
            _ => serde_json::from_str(&raw).unwrap_or(Value::String(raw)),
        };
        return;
    };
    let child = match node {
        Value::Array(items) => match segment.parse::<usize>() {
            Ok(i) if i < items.len() => &mut items[i],
            _ => return,
        },
        _ => {
            if !node.is_object() {
                *node = Value::Object(serde_json::Map::new());
            }
            node.as_object_mut()
                .expect("just made an object")
                .entry(segment.clone())
                .or_insert(Value::Null)
        }
    };
    set_path(child, rest, raw);
}
