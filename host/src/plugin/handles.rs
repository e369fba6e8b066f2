//! The loaded plugins, one type per world, and their calls: each converts the host's types to
//! the WIT's, runs the call in a fresh instance under the limits (`PluginInfo::run`), and
//! converts the answer back.

use std::sync::Arc;

use super::bindings;
use super::bindings::auth::{AuthPlugin as AuthWorld, AuthPluginPre};
use super::bindings::filter::{FilterPlugin as FilterWorld, FilterPluginPre};
use super::bindings::generator::{GeneratorPlugin as GeneratorWorld, GeneratorPluginPre};
use super::bindings::transform::{TransformPlugin as TransformWorld, TransformPluginPre};
use super::state::HostState;
use super::{
    AuthRequest, CallLimits, GenerateRequest, Grant, Image, PluginError, PluginInfo, Rejection,
    Settings, TransformSpec,
};
use crate::avatar::ImageFormat;

macro_rules! plugin_accessors {
    ($ty:ident) => {
        impl $ty {
            /// The name the plugin was loaded under.
            pub fn name(&self) -> &str {
                &self.info.name
            }

            /// Hex SHA-256 of the component's bytes.
            pub fn digest(&self) -> &str {
                &self.info.digest
            }
        }
    };
}

/// A loaded auth plugin (world `auth-plugin`).
#[derive(Clone)]
pub struct AuthPlugin {
    pub(super) pre: AuthPluginPre<HostState>,
    pub(super) info: PluginInfo,
}
plugin_accessors!(AuthPlugin);

impl AuthPlugin {
    /// Asks the plugin whether `request` is authorised.
    pub fn authenticate(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        request: &AuthRequest,
    ) -> Result<Grant, PluginError> {
        let request = request.into();
        let verdict = self.info.run(settings, limits, |store| {
            let instance: AuthWorld = self.pre.instantiate(&mut *store)?;
            instance
                .avatar_plugins_authenticator()
                .call_authenticate(&mut *store, &request)
        })?;
        verdict
            .map(Grant::from)
            .map_err(|e| PluginError::Rejected(Rejection::Auth(e.into())))
    }
}

/// A loaded transform plugin (world `transform-plugin`).
#[derive(Clone)]
pub struct TransformPlugin {
    pub(super) pre: TransformPluginPre<HostState>,
    pub(super) info: PluginInfo,
}
plugin_accessors!(TransformPlugin);

impl TransformPlugin {
    /// Turns `upload` into the images `spec` asks for.
    pub fn transform(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        upload: &[u8],
        spec: &TransformSpec,
    ) -> Result<Vec<Image>, PluginError> {
        let spec = spec.into();
        let result = self.info.run(settings, limits, |store| {
            let instance: TransformWorld = self.pre.instantiate(&mut *store)?;
            instance
                .avatar_plugins_transformer()
                .call_transform(&mut *store, upload, &spec)
        })?;
        checked_images(&self.info, result, limits)
    }

    /// Encodes raw `rgba8` images into `format`.
    pub fn encode(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        images: Vec<Image>,
        format: ImageFormat,
        quality: u8,
    ) -> Result<Vec<Image>, PluginError> {
        let images: Vec<_> = images.into_iter().map(Into::into).collect();
        let result = self.info.run(settings, limits, |store| {
            let instance: TransformWorld = self.pre.instantiate(&mut *store)?;
            instance.avatar_plugins_transformer().call_encode(
                &mut *store,
                &images,
                format.into(),
                quality,
            )
        })?;
        checked_images(&self.info, result, limits)
    }
}

/// A loaded filter plugin (world `filter-plugin`).
#[derive(Clone)]
pub struct FilterPlugin {
    pub(super) pre: FilterPluginPre<HostState>,
    pub(super) info: PluginInfo,
}
plugin_accessors!(FilterPlugin);

impl FilterPlugin {
    /// Filters `rgba8` images.
    pub fn apply(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        images: Vec<Image>,
    ) -> Result<Vec<Image>, PluginError> {
        let images: Vec<_> = images.into_iter().map(Into::into).collect();
        let result = self.info.run(settings, limits, |store| {
            let instance: FilterWorld = self.pre.instantiate(&mut *store)?;
            instance
                .avatar_plugins_filter()
                .call_apply(&mut *store, &images)
        })?;
        checked_images(&self.info, result, limits)
    }
}

/// What a transform or filter call answered: its images, checked against the call's output
/// limit, or its refusal.
fn checked_images(
    info: &PluginInfo,
    result: Result<Vec<bindings::types::Image>, bindings::types::TransformError>,
    limits: &CallLimits,
) -> Result<Vec<Image>, PluginError> {
    let images: Vec<Image> = result
        .map_err(|e| PluginError::Rejected(Rejection::Image(e.into())))?
        .into_iter()
        .map(Into::into)
        .collect();
    info.check_output(&images, limits)?;
    Ok(images)
}

/// A loaded generator plugin (world `generator-plugin`).
#[derive(Clone)]
pub struct GeneratorPlugin {
    pub(super) pre: GeneratorPluginPre<HostState>,
    pub(super) info: PluginInfo,
}
plugin_accessors!(GeneratorPlugin);

impl GeneratorPlugin {
    /// Draws the `rgba8` picture `request` asks for. The pipeline checks that it is the
    /// square asked for.
    pub fn generate(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        request: &GenerateRequest,
    ) -> Result<Image, PluginError> {
        let request = request.into();
        let result = self.info.run(settings, limits, |store| {
            let instance: GeneratorWorld = self.pre.instantiate(&mut *store)?;
            instance
                .avatar_plugins_generator()
                .call_generate(&mut *store, &request)
        })?;
        let image: Image = result
            .map_err(|e| PluginError::Rejected(Rejection::Image(e.into())))?
            .into();
        self.info
            .check_output(std::slice::from_ref(&image), limits)?;
        Ok(image)
    }
}
