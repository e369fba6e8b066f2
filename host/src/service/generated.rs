//! Generated defaults: the picture a tenant's generator draws for a hash without an avatar,
//! known by its validator before it is drawn, drawn once as one of the tenant's plugin jobs
//! and then served from the image cache.

use std::sync::Arc;

use bytes::Bytes;

use super::{Service, ServiceError};
use crate::avatar::{AvatarHash, ImageFormat, Recipe};
use crate::plugin::{GenerateRequest, GeneratorPlugin};
use crate::tenant::{DefaultPolicy, Stage, Tenant, jobs};

/// A generated picture to serve: what to draw, and its validator.
#[derive(Debug, Clone)]
pub(super) struct Generated {
    pub request: GenerateRequest,
    pub format: ImageFormat,
    /// From everything the pixels depend on.
    pub etag: String,
}

impl Generated {
    /// The picture `generator` draws for `hash` at `side`, through `tenant`'s pipeline.
    pub fn new(
        tenant: &Tenant,
        generator: &Stage<GeneratorPlugin>,
        hash: &AvatarHash,
        side: u32,
    ) -> Self {
        let pipeline = &tenant.pipeline;
        let format = pipeline.generated_format();
        let mut recipe = Recipe::default()
            .with(generator.plugin.digest())
            .settings(generator.settings.iter())
            .with(pipeline.transform.plugin.digest())
            .settings(pipeline.transform.settings.iter())
            .with(hash.as_str())
            .with(side.to_le_bytes())
            .with(format.name())
            .with([pipeline.output.quality]);
        for filter in &pipeline.filters {
            recipe = recipe
                .with(filter.plugin.digest())
                .settings(filter.settings.iter());
        }
        Self {
            request: GenerateRequest {
                hash: hash.to_string(),
                side,
                initials: None,
                name: None,
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
    ) -> Result<Bytes, ServiceError> {
        let key = format!("generated/{}/{}", tenant.id, g.etag);
        if let Some(bytes) = self.cache.image(&key) {
            return Ok(bytes);
        }
        let DefaultPolicy::Generate(generator) = &tenant.default_avatar else {
            return Err(ServiceError::NotFound);
        };
        let (generator, request) = (generator.clone(), g.request.clone());
        let image = jobs::run(tenant, move |tenant| {
            tenant.pipeline.draw(&generator, &request)
        })
        .await
        .map_err(|e| ServiceError::from_job(tenant, e))?;
        let bytes = Bytes::from(image.data);
        self.cache.put_image(&key, bytes.clone());
        Ok(bytes)
    }
}
