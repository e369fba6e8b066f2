//! A tenant's section of the configuration: its plugins and their settings, sizes, default
//! avatar, output, host names, storage prefix, CORS origins and limits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use super::defaults;
use crate::avatar::ImageFormat;

/// One tenant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// The tenant's id: letters, digits, `-` and `_`. Required.
    pub id: String,
    /// The auth plugin and its settings. Required (the JWT secret of `auth-jwt` lives at
    /// `auth.config.secret`).
    pub auth: PluginRef,
    /// The transform plugin and its settings. Default: `{"plugin": "transform-image"}`.
    #[serde(default = "PluginRef::transform_image")]
    pub transform: PluginRef,
    /// Named sizes in pixels. Default `small` 128, `medium` 256, `large` 512, `original`
    /// 1024. These are also the sizes stored for every upload.
    #[serde(default = "defaults::sizes")]
    pub sizes: BTreeMap<String, u32>,
    /// The size served when a request names none. Default `medium`.
    #[serde(default = "defaults::default_size")]
    pub default_size: String,
    /// What to serve when neither hash has an avatar. Default `"404"`.
    #[serde(default)]
    pub default_avatar: DefaultAvatar,
    /// `Cache-Control: max-age` of avatar responses, in seconds. Default 300.
    #[serde(default = "default_max_age")]
    pub cache_max_age: u64,
    /// Output format and quality of stored images. Default: keep JPEG, else PNG (with
    /// filters: PNG when a filter made pixels transparent); quality 85.
    #[serde(default)]
    pub output: OutputConfig,
    /// Drop-in filters run after the transform, in order, each with its own settings
    /// (`[{"plugin": "filter-grayscale"}, {"plugin": "filter-circle"}]`). Default none.
    #[serde(default)]
    pub filters: Vec<PluginRef>,
    /// Whether requests to the root paths (without `/t/{tenant}/`) go to this tenant. At most
    /// one tenant may say so; default: the first tenant.
    #[serde(default)]
    pub default: bool,
    /// Host names (`Host` header, without the port) that select this tenant on the root paths.
    /// Default none.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Where this tenant's images live inside the store, as a key prefix. Default: the id.
    #[serde(default)]
    pub storage_prefix: Option<String>,
    /// Origins (`scheme://host[:port]`) allowed to read this tenant's avatars from a browser
    /// (`Origin` header), to embed its self-service page and to be its return link, or
    /// `["*"]` for any. Default `["*"]`.
    #[serde(default = "defaults::cors_origins")]
    pub cors_origins: Vec<String>,
    /// This tenant's own limits; each unset field falls back to the top-level `limits`.
    #[serde(default)]
    pub limits: TenantLimits,
    /// The generator that draws each Gravatar default style (`d=identicon`, …) instead of the
    /// built-in one: `{"identicon": {"plugin": "my-identicon.wasm"}}`. Default: the built-ins
    /// (`generate-silhouette` for `mp`, `generate-identicon`, `generate-monsterid`,
    /// `generate-wavatar`, `generate-retro`, `generate-robohash`, `generate-initials`,
    /// `generate-color`).
    #[serde(default)]
    pub styles: BTreeMap<String, PluginRef>,
    /// Host names a Gravatar request's `d=<URL>` may redirect to (exact, case-insensitive);
    /// a URL elsewhere gets the tenant's `default_avatar`, so the service is no open redirect.
    /// Default none.
    #[serde(default)]
    pub default_url_hosts: Vec<String>,
}

/// A tenant's limits. Every field defaults to the top-level `limits` value of the same name;
/// `max_concurrent_jobs` defaults as described in the README's "Tenants" section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantLimits {
    pub max_upload_bytes: Option<u64>,
    pub max_source_pixels: Option<u64>,
    pub plugin_deadline_ms: Option<u64>,
    pub plugin_memory_mib: Option<u64>,
    /// Plugin jobs of this tenant (transforms of uploads, generated defaults) that may run at
    /// once; more wait in line, up to `plugin_deadline_ms`, then get `503`.
    pub max_concurrent_jobs: Option<u32>,
}

impl TenantConfig {
    /// The key prefix of this tenant's images, without a trailing `/`.
    pub fn storage_prefix(&self) -> String {
        self.storage_prefix
            .as_deref()
            .unwrap_or(&self.id)
            .trim_matches('/')
            .to_owned()
    }

    /// Makes the relative paths of `.wasm` plugins and a default-avatar file relative to
    /// `base` (the config file's directory).
    pub(super) fn resolve_paths(&mut self, base: &std::path::Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let DefaultAvatar::File(file) = &mut self.default_avatar {
            resolve(file);
        }
        let generator = match &mut self.default_avatar {
            DefaultAvatar::Generate(plugin) => Some(plugin),
            _ => None,
        };
        let plugins = [&mut self.auth, &mut self.transform]
            .into_iter()
            .chain(self.filters.iter_mut())
            .chain(generator)
            .chain(self.styles.values_mut());
        for plugin in plugins {
            if plugin.plugin.ends_with(".wasm") {
                let mut p = PathBuf::from(&plugin.plugin);
                resolve(&mut p);
                plugin.plugin = p.to_string_lossy().into_owned();
            }
        }
    }

    /// Every plugin this tenant runs, with the role it plays.
    pub fn plugins(&self) -> Vec<(&'static str, &PluginRef)> {
        let mut all = vec![("auth", &self.auth), ("transform", &self.transform)];
        all.extend(self.filters.iter().map(|f| ("filter", f)));
        if let DefaultAvatar::Generate(plugin) = &self.default_avatar {
            all.push(("generator", plugin));
        }
        all.extend(self.styles.values().map(|p| ("style", p)));
        all
    }
}

/// A plugin and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginRef {
    /// A built-in plugin's name (`auth-jwt`, `transform-image`) or the path of a `.wasm`
    /// component, relative to the config file.
    pub plugin: String,
    /// The plugin's settings, a JSON object the plugin reads through `config.get(key)`.
    /// Default `{}`.
    #[serde(default)]
    pub config: serde_json::Map<String, Value>,
}

impl PluginRef {
    pub(crate) fn transform_image() -> Self {
        Self {
            plugin: defaults::TRANSFORM_PLUGIN.into(),
            config: serde_json::Map::new(),
        }
    }

    /// The settings as the plugin sees them: strings as they are, anything else as JSON.
    pub fn settings(&self) -> BTreeMap<String, String> {
        self.config
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), value)
            })
            .collect()
    }
}

fn default_max_age() -> u64 {
    defaults::CACHE_MAX_AGE
}

/// What a tenant serves when an avatar is missing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DefaultAvatar {
    /// `"404"`: answer 404 with a JSON error.
    #[default]
    NotFound,
    /// `{"hash": "…"}`: serve that hash's avatar.
    Hash(String),
    /// `{"file": "…"}`: an image file (relative to the config file), transformed at start-up.
    File(PathBuf),
    /// `{"generate": "generate-identicon"}` or `{"generate": {"plugin": …, "config": {…}}}`:
    /// a generator plugin draws a picture of each missing hash's own.
    Generate(PluginRef),
}

impl<'de> Deserialize<'de> for DefaultAvatar {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Hash { hash: String },
            File { file: PathBuf },
            Generate { generate: GenerateRaw },
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum GenerateRaw {
            Name(String),
            Plugin(PluginRef),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Text(s) if s == "404" => Ok(Self::NotFound),
            Raw::Text(s) => Err(serde::de::Error::custom(format!(
                "expected \"404\", {{\"hash\": …}}, {{\"file\": …}} or {{\"generate\": …}}, found {s:?}"
            ))),
            Raw::Hash { hash } => Ok(Self::Hash(hash)),
            Raw::File { file } => Ok(Self::File(file)),
            Raw::Generate {
                generate: GenerateRaw::Name(plugin),
            } => Ok(Self::Generate(PluginRef {
                plugin,
                config: serde_json::Map::new(),
            })),
            Raw::Generate {
                generate: GenerateRaw::Plugin(plugin),
            } => Ok(Self::Generate(plugin)),
        }
    }
}

/// The stored images' format.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// `jpeg`, `png`, `webp`, or `null` to keep JPEG as JPEG and store the rest as PNG.
    /// Default `null`.
    pub format: Option<OutputFormat>,
    /// Quality of lossy encodings (JPEG, lossy WebP, AVIF), 1 to 100. Default 85.
    pub quality: u8,
    /// When a request names no format (no extension) and its `Accept` lists `image/avif` or
    /// `image/webp`, answer with the smallest of the stored format and those, rendered on
    /// first use and cached. Default `true`.
    pub negotiate: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            format: None,
            quality: defaults::QUALITY,
            negotiate: true,
        }
    }
}

/// A stored image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Jpeg,
    Png,
    Webp,
}

impl OutputFormat {
    /// The image format it names.
    pub fn format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::Webp => ImageFormat::Webp,
        }
    }
}

/// The origin (`http[s]://host[:port]`, as written) that `url` starts with, when `url` is an
/// absolute `http` or `https` URL a browser would read the same way: no credentials in it,
/// no backslashes, no spaces or control characters.
pub fn origin_of(url: &str) -> Option<&str> {
    let scheme = ["https://", "http://"].into_iter().find(|s| {
        url.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    })?;
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return None;
    }
    let rest = &url[scheme.len()..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host_like = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if authority.is_empty() || !authority.chars().all(host_like) {
        return None;
    }
    Some(&url[..scheme.len() + end])
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_are_read_as_browsers_read_them() {
        for (url, origin) in [
            ("https://app.test", Some("https://app.test")),
            ("https://app.test/a?b#c", Some("https://app.test")),
            ("HTTP://LOCALHOST:3000/x", Some("HTTP://LOCALHOST:3000")),
            ("http://[::1]:8080/", Some("http://[::1]:8080")),
            ("https://app.test?x", Some("https://app.test")),
            ("https://user@evil.test/", None),
            ("https://app.test\\@evil.test", None),
            ("https://app.test /", None),
            ("https:///path", None),
            ("//app.test/", None),
            ("javascript:alert(1)", None),
            ("ftp://app.test/", None),
            ("*", None),
        ] {
            assert_eq!(origin_of(url), origin, "{url}");
        }
    }
}
