//! A tenant's image pipeline: the transform, then every filter in order, then the
//! transform's `encode` (when there are filters), for uploads and for generated pictures; the
//! output format policy; and every check of what a stage hands back, so a plugin that breaks
//! its contract is caught here, before anything is stored or served.

use std::sync::Arc;

use crate::avatar::{ImageFormat, Recipe};
use crate::plugin::{
    CallLimits, Crop, FilterPlugin, GenerateRequest, GeneratorPlugin, Image, PluginError, Settings,
    TransformPlugin, TransformSpec,
};

/// A loaded plugin, the settings it sees for this tenant, and the limits of its calls.
#[derive(Clone)]
pub struct Stage<P> {
    pub plugin: P,
    pub settings: Arc<Settings>,
    pub limits: CallLimits,
}

/// The part a stage plays, for messages and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Transform,
    Filter,
    Encode,
    Generator,
}

impl Role {
    /// Its name in messages, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Transform => "transform",
            Self::Filter => "filter",
            Self::Encode => "encode",
            Self::Generator => "generator",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the pipeline produced no images.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A stage's plugin refused its input (the client's fault) or failed (ours).
    #[error("{role} plugin {plugin}: {source}")]
    Plugin {
        role: Role,
        plugin: String,
        #[source]
        source: PluginError,
    },
    /// A stage answered with something that breaks the contract in `wit/`.
    #[error("{role} plugin {plugin} broke its contract: {message}")]
    Contract {
        role: Role,
        plugin: String,
        message: String,
    },
}

impl PipelineError {
    /// A failure that is the plugin's or the operator's fault, not the client's.
    pub fn is_server_fault(&self) -> bool {
        match self {
            Self::Plugin { source, .. } => source.is_server_fault(),
            Self::Contract { .. } => true,
        }
    }

    /// The plugin's own error, when a plugin call failed.
    pub fn plugin_error(&self) -> Option<&PluginError> {
        match self {
            Self::Plugin { source, .. } => Some(source),
            Self::Contract { .. } => None,
        }
    }
}

/// How stored images are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// `None`: JPEG stays JPEG, the rest becomes PNG (with filters: PNG when a filter made
    /// pixels transparent).
    pub format: Option<ImageFormat>,
    pub quality: u8,
    /// Whether reads that name no format may be answered in AVIF or WebP.
    pub negotiate: bool,
}

/// A tenant's pipeline.
pub struct Pipeline {
    pub transform: Stage<TransformPlugin>,
    /// Run after the transform, in order.
    pub filters: Vec<Stage<FilterPlugin>>,
    pub output: Output,
    /// The sides stored for every upload, largest first.
    pub stored_sides: Vec<u32>,
    /// The most source pixels an upload may declare.
    pub max_source_pixels: u64,
    /// The tenant, for logs.
    pub tenant: String,
    /// What every rendition's pixels depend on besides its source, side and format (see
    /// [`Pipeline::rendition_recipe_of`]), hashed once when the tenant is built rather than on
    /// every read of a size nobody stored.
    pub rendition_recipe: Recipe,
}

impl Pipeline {
    /// The ingredients of a rendition's validator that the tenant fixes: the transform plugin
    /// that renders it, its settings and the output quality.
    pub fn rendition_recipe_of(transform: &Stage<TransformPlugin>, quality: u8) -> Recipe {
        Recipe::default()
            .with(transform.plugin.digest())
            .settings(transform.settings.iter())
            .with([quality])
    }

    /// Makes the stored images of an upload (of its `crop`, when given), largest first, all
    /// in one format. Blocking: call it off the async workers.
    pub fn process(&self, upload: &[u8], crop: Option<Crop>) -> Result<Vec<Image>, PipelineError> {
        let spec = TransformSpec {
            sides: self.stored_sides.clone(),
            format: if self.filters.is_empty() {
                self.output.format
            } else {
                Some(ImageFormat::Rgba8)
            },
            quality: self.output.quality,
            max_pixels: self.max_source_pixels,
            crop,
        };
        let stage = &self.transform;
        let images = self.call(Role::Transform, stage.plugin.name(), || {
            stage
                .plugin
                .transform(&stage.settings, &stage.limits, upload, &spec)
        })?;
        self.check_transformed(&images, spec.format)?;
        if self.filters.is_empty() {
            return Ok(images);
        }
        let jpeg_source = upload.starts_with(&[0xFF, 0xD8, 0xFF]);
        self.filter_and_encode(images, jpeg_source)
    }

    /// Draws the picture `request` asks for with `generator`, then filters and encodes it like
    /// an upload's images. Blocking: call it off the async workers.
    pub fn draw(
        &self,
        generator: &Stage<GeneratorPlugin>,
        request: &GenerateRequest,
    ) -> Result<Image, PipelineError> {
        let name = generator.plugin.name();
        let image = self.call(Role::Generator, name, || {
            generator
                .plugin
                .generate(&generator.settings, &generator.limits, request)
        })?;
        let side = request.side;
        if !is_rgba8_square(&image, side) {
            return Err(self.broken(
                Role::Generator,
                name,
                format!(
                    "returned a {}x{} {} image of {} bytes, not {side}x{side} rgba8",
                    image.width,
                    image.height,
                    image.format,
                    image.data.len()
                ),
            ));
        }
        let mut images = self.filter_and_encode(vec![image], false)?;
        Ok(images.remove(0))
    }

    /// Renders `source` (an image this pipeline made: a stored variant, a default, a generated
    /// picture) at exactly `side` pixels in `format`, with the transform alone: `source`
    /// already went through the filters. Blocking: call it off the async workers.
    pub fn render(
        &self,
        source: &[u8],
        side: u32,
        format: ImageFormat,
    ) -> Result<Image, PipelineError> {
        let spec = TransformSpec {
            sides: vec![side],
            format: Some(format),
            quality: self.output.quality,
            max_pixels: self.max_source_pixels,
            crop: None,
        };
        let stage = &self.transform;
        let mut images = self.call(Role::Transform, stage.plugin.name(), || {
            stage
                .plugin
                .transform(&stage.settings, &stage.limits, source, &spec)
        })?;
        let one = images.len() == 1
            && images[0].format == format
            && images[0].width == side
            && images[0].height == side
            && !images[0].data.is_empty();
        if !one {
            return Err(self.broken(
                Role::Transform,
                stage.plugin.name(),
                format!("asked for one {side}x{side} {format} image, returned something else"),
            ));
        }
        Ok(images.remove(0))
    }

    /// A fully transparent PNG of `side` pixels (Gravatar's `d=blank`), encoded by the
    /// transform. Blocking: call it off the async workers.
    pub fn blank(&self, side: u32) -> Result<Image, PipelineError> {
        let pixels = Image {
            format: ImageFormat::Rgba8,
            width: side,
            height: side,
            data: vec![0; side as usize * side as usize * 4],
        };
        let stage = &self.transform;
        let mut images = self.call(Role::Encode, stage.plugin.name(), || {
            stage.plugin.encode(
                &stage.settings,
                &stage.limits,
                vec![pixels],
                ImageFormat::Png,
                self.output.quality,
            )
        })?;
        if images.len() != 1 || images[0].format != ImageFormat::Png || images[0].width != side {
            return Err(self.broken(
                Role::Encode,
                stage.plugin.name(),
                format!("asked for one {side}x{side} png image, returned something else"),
            ));
        }
        Ok(images.remove(0))
    }

    /// The format a generated picture is stored in, as far as it is known before drawing.
    pub fn generated_format(&self) -> ImageFormat {
        self.output.format.unwrap_or(ImageFormat::Png)
    }

    fn filter_and_encode(
        &self,
        mut images: Vec<Image>,
        jpeg_source: bool,
    ) -> Result<Vec<Image>, PipelineError> {
        for filter in &self.filters {
            let sides: Vec<u32> = images.iter().map(|i| i.width).collect();
            let name = filter.plugin.name();
            images = self.call(Role::Filter, name, || {
                filter
                    .plugin
                    .apply(&filter.settings, &filter.limits, images)
            })?;
            let same = images.len() == sides.len()
                && images
                    .iter()
                    .zip(&sides)
                    .all(|(i, s)| is_rgba8_square(i, *s));
            if !same {
                return Err(self.broken(
                    Role::Filter,
                    name,
                    "must return rgba8 images of the sizes it was given".into(),
                ));
            }
        }
        // Transparency survives only in PNG or WebP; an opaque photo stays JPEG.
        let format = self.output.format.unwrap_or_else(|| {
            let opaque = images
                .iter()
                .all(|i| i.data.chunks_exact(4).all(|px| px[3] == 255));
            if opaque && jpeg_source {
                ImageFormat::Jpeg
            } else {
                ImageFormat::Png
            }
        });
        let sides: Vec<u32> = images.iter().map(|i| i.width).collect();
        let stage = &self.transform;
        let encoded = self.call(Role::Encode, stage.plugin.name(), || {
            stage.plugin.encode(
                &stage.settings,
                &stage.limits,
                images,
                format,
                self.output.quality,
            )
        })?;
        let same = encoded.len() == sides.len()
            && encoded.iter().zip(&sides).all(|(i, s)| {
                i.format == format && i.width == *s && i.height == *s && !i.data.is_empty()
            });
        if !same {
            return Err(self.broken(
                Role::Encode,
                stage.plugin.name(),
                format!("must return one {format} image per image given, of the same size"),
            ));
        }
        Ok(encoded)
    }

    /// Checks the transform's images: one format (the one asked for, when one was), encoded
    /// unless raw pixels were asked for, squares of distinct requested sides, none empty.
    fn check_transformed(
        &self,
        images: &[Image],
        asked: Option<ImageFormat>,
    ) -> Result<(), PipelineError> {
        let broken = |message: String| {
            Err(self.broken(Role::Transform, self.transform.plugin.name(), message))
        };
        let Some(first) = images.first() else {
            return broken("returned no images".into());
        };
        let allowed = match asked {
            Some(format) => format == first.format,
            None => matches!(
                first.format,
                ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Webp
            ),
        };
        if !allowed {
            return broken(format!("returned a {} image", first.format));
        }
        let mut sides = Vec::with_capacity(images.len());
        for image in images {
            if image.format != first.format {
                return broken("returned images in different formats".into());
            }
            if image.width != image.height || !self.stored_sides.contains(&image.width) {
                return broken(format!(
                    "returned a {}x{} image, not one of the requested squares",
                    image.width, image.height
                ));
            }
            if image.data.is_empty()
                || (image.format == ImageFormat::Rgba8 && !is_rgba8_square(image, image.width))
            {
                return broken("returned an empty or truncated image".into());
            }
            sides.push(image.width);
        }
        sides.sort_unstable();
        sides.dedup();
        if sides.len() != images.len() {
            return broken("returned the same size twice".into());
        }
        Ok(())
    }

    /// Runs one stage's call; a server-side failure is logged with the tenant and the plugin,
    /// so an operator with several filters knows which one failed (clients are not told).
    fn call<R>(
        &self,
        role: Role,
        plugin: &str,
        call: impl FnOnce() -> Result<R, PluginError>,
    ) -> Result<R, PipelineError> {
        super::counted(&self.tenant, role.name(), plugin, call).map_err(|source| {
            if source.is_server_fault() {
                tracing::warn!(tenant = %self.tenant, %role, plugin, error = %source, "pipeline stage failed");
            }
            PipelineError::Plugin {
                role,
                plugin: plugin.to_owned(),
                source,
            }
        })
    }

    fn broken(&self, role: Role, plugin: &str, message: String) -> PipelineError {
        tracing::warn!(tenant = %self.tenant, %role, plugin, %message, "plugin broke its contract");
        PipelineError::Contract {
            role,
            plugin: plugin.to_owned(),
            message,
        }
    }
}

/// Whether `image` is `side` x `side` raw pixels, exactly.
fn is_rgba8_square(image: &Image, side: u32) -> bool {
    image.format == ImageFormat::Rgba8
        && image.width == side
        && image.height == side
        && image.data.len() as u64 == u64::from(side) * u64::from(side) * 4
}
