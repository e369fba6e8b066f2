//! Generated defaults: the picture a generator draws for a hash without an avatar, known by
//! its validator before it is drawn, drawn once as one of the tenant's plugin jobs and then
//! served from the image cache; and the transparent `blank` default.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;

use super::{Service, ServiceError};
use crate::avatar::{AvatarHash, ImageFormat, Recipe};
use crate::plugin::{GenerateRequest, GeneratorPlugin};
use crate::rate::Action;
use crate::tenant::{Stage, Tenant, jobs};

/// A generated picture to serve: what to draw and with which generator, and its validator.
#[derive(Clone)]
pub(super) struct Generated {
    pub generator: Stage<GeneratorPlugin>,
    pub request: GenerateRequest,
    pub format: ImageFormat,
    /// From everything the pixels depend on.
    pub etag: String,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generated")
            .field("generator", &self.generator.plugin.name())
            .field("side", &self.request.side)
            .field("etag", &self.etag)
            .finish()
    }
}

impl Generated {
    /// The picture `generator` draws for `hash` at `side`, through `tenant`'s pipeline.
    pub fn new(
        tenant: &Tenant,
        generator: &Stage<GeneratorPlugin>,
        hash: &AvatarHash,
        side: u32,
        initials: Option<String>,
        name: Option<String>,
    ) -> Self {
        let pipeline = &tenant.pipeline;
        let format = pipeline.generated_format();
        let text = |t: &Option<String>| {
            t.as_deref()
                .map_or(vec![0], |t| [&[1], t.as_bytes()].concat())
        };
        let mut recipe = Recipe::default()
            .with(generator.plugin.digest())
            .settings(generator.settings.iter())
            .with(pipeline.transform.plugin.digest())
            .settings(pipeline.transform.settings.iter())
            .with(hash.as_str())
            .with(side.to_le_bytes())
            .with(text(&initials))
            .with(text(&name))
            .with(format.name())
            .with([pipeline.output.quality]);
        for filter in &pipeline.filters {
            recipe = recipe
                .with(filter.plugin.digest())
                .settings(filter.settings.iter());
        }
        Self {
            generator: generator.clone(),
            request: GenerateRequest {
                hash: hash.to_string(),
                side,
                initials,
                name,
            },
            format,
            etag: recipe.etag(),
        }
    }
}

impl Service {
    /// The generated picture `g`, from the image cache or drawn now.
    pub(super) async fn draw(
        &self,
        tenant: &Arc<Tenant>,
        g: &Generated,
        client: Option<IpAddr>,
    ) -> Result<Bytes, ServiceError> {
        let key = format!("generated/{}/{}", tenant.id, g.etag);
        if let Some(bytes) = self.cache.image(&key) {
            return Ok(bytes);
        }
        self.admit(Action::Render, tenant, client)?;
        let (generator, request) = (g.generator.clone(), g.request.clone());
        let image = jobs::run(tenant, move |tenant| {
            tenant.pipeline.draw(&generator, &request)
        })
        .await
        .map_err(|e| ServiceError::from_job(tenant, e))?;
        let bytes = Bytes::from(image.data);
        self.cache.put_image(&key, bytes.clone());
        Ok(bytes)
    }

    /// A transparent PNG of `side` pixels, encoded by the tenant's transform once.
    pub(super) async fn blank(
        &self,
        tenant: &Arc<Tenant>,
        side: u32,
        client: Option<IpAddr>,
    ) -> Result<Bytes, ServiceError> {
        let key = format!("blank/{}/{side}", tenant.id);
        if let Some(bytes) = self.cache.image(&key) {
            return Ok(bytes);
        }
        self.admit(Action::Render, tenant, client)?;
        let image = jobs::run(tenant, move |tenant| tenant.pipeline.blank(side))
            .await
            .map_err(|e| ServiceError::from_job(tenant, e))?;
        let bytes = Bytes::from(image.data);
        self.cache.put_image(&key, bytes.clone());
        Ok(bytes)
    }
}
