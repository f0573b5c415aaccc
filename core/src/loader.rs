//! Loading dynamic plugins: the only module of the host with `unsafe`.
//!
//! A plugin library is copied to a unique path before it is opened (the OS
//! loader caches by path and inode, so a rebuilt library at the same path
//! would silently give the old code) — unless a library with the same bytes
//! (SHA-256) is mapped already: then that image is reused and only a new
//! instance is made ([`mapped_images`]; a rollback or a flip-flop between
//! two versions maps each once, not once per reload). Libraries are opened with
//! `lib_header_from_path(..).init_root_module()` (never
//! `RootModule::load_from_*`, which caches one module per type), and then
//! checked: plugin-api version, panic strategy, and the layouts of both
//! vtables (see `plugboard_plugin_api::abi` for why they are checked here and
//! not as part of the root module). Libraries are never unloaded.
#![allow(unsafe_code)]

use std::{
    ffi::c_void,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use abi_stable::{
    abi_stability::check_layout_compatibility,
    library::{lib_header_from_path, LibraryError},
    prefix_type::{PrefixRef, WithMetadata_},
    std_types::RResult,
    type_layout::TypeLayout,
    StableAbi,
};
use plugboard_plugin_api::{
    abi::{
        phase, user_hook, v1, HostHandle, HostVTable_Ref, PluginRootRef, PluginVTable_Prefix,
        PluginVTable_Ref, RouteSpec, API_VERSION,
    },
    Context, HookCall, HookSpec, Phase, PluginError, PluginObject, PluginResult, Request, Response,
};

/// Why a dynamic plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The library file named by the manifest is not there.
    #[error("library {} is missing", path.display())]
    MissingLibrary {
        /// Where it was expected.
        path: PathBuf,
    },
    /// The file could not be copied to its load path.
    #[error("cannot stage {} for loading: {source}", path.display())]
    Stage {
        /// The library.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a shared library, or exports no Plugboard root module.
    #[error("{} is not a Plugboard plugin: {cause}", path.display())]
    NotAPlugin {
        /// The library.
        path: PathBuf,
        /// What the loader said.
        cause: String,
    },
    /// The library's types do not match this host's.
    #[error("ABI mismatch: {details}")]
    AbiMismatch {
        /// The `Error:` lines of abi_stable's report.
        details: String,
    },
    /// Built against a plugin-api this host cannot serve.
    #[error("built against plugin-api {plugin}, but this host provides plugin-api {host} (needs the same major version and a minor version no newer than the host's)")]
    IncompatibleApi {
        /// The plugin's plugin-api version.
        plugin: String,
        /// The host's.
        host: String,
    },
    /// Built with `panic = "abort"`, so any panic would end the host.
    #[error("built with panic = \"abort\"; rebuild it with panic = \"unwind\" (a panic in it would end the host)")]
    PanicAbort,
    /// Creating the instance failed (or panicked).
    #[error("creating the plugin instance failed: {0}")]
    Instantiate(PluginError),
    /// The library is another plugin, or another version, than its manifest says.
    #[error(transparent)]
    Identity(#[from] IdentityMismatch),
}

/// A library whose code reports another slug or version than its manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("manifest says {manifest_slug} {manifest_version} but the library is {library_slug} {library_version}")]
pub struct IdentityMismatch {
    /// The manifest's slug.
    pub manifest_slug: String,
    /// The manifest's version.
    pub manifest_version: String,
    /// The slug the library's code reports.
    pub library_slug: String,
    /// The version the library's code reports.
    pub library_version: String,
}

/// The one check that a library is the plugin its manifest describes (at
/// discovery, upgrade and install alike).
pub fn check_identity(
    manifest: &crate::manifest::Manifest,
    library_slug: &str,
    library_version: &str,
) -> Result<(), IdentityMismatch> {
    if manifest.slug == library_slug && manifest.version == library_version {
        return Ok(());
    }
    Err(IdentityMismatch {
        manifest_slug: manifest.slug.to_string(),
        manifest_version: manifest.version.clone(),
        library_slug: library_slug.to_string(),
        library_version: library_version.to_string(),
    })
}

/// Loads `manifest`'s library (see [`load_library`]) and checks that it is
/// the plugin the manifest describes ([`check_identity`]).
pub fn load_for_manifest(
    manifest: &crate::manifest::Manifest,
    library: &Path,
    scratch: &Path,
) -> Result<DynamicPlugin, LoadError> {
    stage_library(library, scratch)?.load_as(manifest)
}

/// A dynamic plugin instance: a client of the plugin's vtable.
pub struct DynamicPlugin {
    state: *const c_void,
    vtable: PluginVTable_Ref,
    slug: String,
    version: String,
    api_version: String,
}

// SAFETY: `state` is the plugin's `Adapter<P>` with `P: Plugin`, and `Plugin`
// requires `Send + Sync`; the host only reaches it through the vtable's
// functions, which take it by shared reference (except `drop`, called once
// from `Drop` when no other reference exists).
unsafe impl Send for DynamicPlugin {}
// SAFETY: as above.
unsafe impl Sync for DynamicPlugin {}

impl Drop for DynamicPlugin {
    fn drop(&mut self) {
        (self.vtable.drop())(self.state);
    }
}

impl DynamicPlugin {
    /// The plugin-api version the plugin was built against.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }
}

fn raw(ctx: &Context<'_>) -> HostHandle {
    ctx.raw()
}

impl PluginObject for DynamicPlugin {
    fn slug(&self) -> &str {
        &self.slug
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn hooks(&self) -> PluginResult<Vec<HookSpec>> {
        (self.vtable.hooks())(self.state)
            .into_result()
            .map(|v| v.into_vec())
    }
    fn routes(&self) -> PluginResult<Vec<RouteSpec>> {
        (self.vtable.routes())(self.state)
            .into_result()
            .map(|v| v.into_vec())
    }
    fn migrations(&self) -> PluginResult<Vec<plugboard_plugin_api::Migration>> {
        match self.vtable.migrations() {
            Some(f) => f(self.state).into_result().map(|v| v.into_vec()),
            None => Ok(Vec::new()), // built against plugin-api < 1.2
        }
    }
    fn subscriptions(&self) -> PluginResult<Vec<String>> {
        match self.vtable.subscriptions() {
            Some(f) => f(self.state)
                .into_result()
                .map(|v| v.into_iter().map(Into::into).collect()),
            None => Ok(Vec::new()), // built against plugin-api < 1.2
        }
    }
    fn on_event(&self, ctx: &Context<'_>, name: &str, payload: &str) -> PluginResult {
        match self.vtable.on_event() {
            Some(f) => f(self.state, raw(ctx), name.into(), payload.into()).into_result(),
            None => Ok(()),
        }
    }
    fn jobs(&self) -> PluginResult<Vec<plugboard_plugin_api::abi::JobSpec>> {
        match self.vtable.jobs() {
            Some(f) => f(self.state).into_result().map(|v| v.into_vec()),
            None => Ok(Vec::new()), // built against plugin-api < 1.2
        }
    }
    fn run_job(&self, ctx: &Context<'_>, index: u32) -> PluginResult {
        match self.vtable.run_job() {
            Some(f) => f(self.state, raw(ctx), index).into_result(),
            None => Err(PluginError::not_found("this plugin has no jobs")),
        }
    }
    fn config_schema(&self) -> PluginResult<Option<serde_json::Value>> {
        let Some(f) = self.vtable.config_schema() else {
            return Ok(None); // built against plugin-api < 1.2
        };
        match f(self.state).into_result()?.into_option() {
            Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                PluginError::failed(format!("the plugin's config schema is not JSON: {e}"))
            }),
            None => Ok(None),
        }
    }
    fn on_config_changed(&self, ctx: &Context<'_>, config: &serde_json::Value) -> PluginResult {
        match self.vtable.on_config_changed() {
            Some(f) => f(self.state, raw(ctx), config.to_string().as_str().into()).into_result(),
            None => Ok(()),
        }
    }
    fn route_docs(&self) -> PluginResult<Vec<plugboard_plugin_api::RouteDoc>> {
        // Since 1.7; an older plugin documents nothing (its routes are
        // still listed, with method, path and access).
        let Some(f) = self.vtable.route_docs() else {
            return Ok(Vec::new());
        };
        let json = f(self.state).into_result()?;
        serde_json::from_str(json.as_str()).map_err(|e| {
            plugboard_plugin_api::PluginError::failed(format!("the route docs are not JSON: {e}"))
        })
    }
    fn on_upgrade(&self, ctx: &Context<'_>, from_version: &str) -> PluginResult {
        match self.vtable.on_upgrade() {
            Some(f) => f(self.state, raw(ctx), from_version.into()).into_result(),
            None => Ok(()),
        }
    }
    fn lifecycle(&self, ctx: &Context<'_>, which: Phase) -> PluginResult {
        let code = match which {
            Phase::Load => phase::LOAD,
            Phase::Enable => phase::ENABLE,
            Phase::Disable => phase::DISABLE,
            Phase::Unload => phase::UNLOAD,
        };
        (self.vtable.lifecycle())(self.state, raw(ctx), code).into_result()
    }
    #[inline]
    fn call_hook(&self, ctx: &Context<'_>, call: &mut HookCall<'_>) -> PluginResult {
        let (state, ctx) = (self.state, raw(ctx));
        let result: RResult<(), PluginError> = match call {
            HookCall::BeforeUserCreate(user) => {
                (self.vtable.before_user_create())(state, ctx, user)
            }
            HookCall::UserCreated(user) => {
                (self.vtable.user_hook())(state, ctx, user_hook::CREATED, user)
            }
            HookCall::UserUpdated(user) => {
                (self.vtable.user_hook())(state, ctx, user_hook::UPDATED, user)
            }
            HookCall::UserDeleted(user) => {
                (self.vtable.user_hook())(state, ctx, user_hook::DELETED, user)
            }
            HookCall::UserLogin(user) => {
                (self.vtable.user_hook())(state, ctx, user_hook::LOGIN, user)
            }
            HookCall::UserLogout(user) => {
                (self.vtable.user_hook())(state, ctx, user_hook::LOGOUT, user)
            }
            HookCall::SystemStartup => (self.vtable.system_hook())(state, ctx, true),
            HookCall::SystemShutdown => (self.vtable.system_hook())(state, ctx, false),
            HookCall::PluginLifecycle(event) => (self.vtable.plugin_event())(state, ctx, event),
        };
        result.into_result()
    }
    fn handle_route(
        &self,
        ctx: &Context<'_>,
        index: u32,
        req: &Request<'_>,
    ) -> PluginResult<Response> {
        // Since 1.5 the caller goes along; an older plugin cannot read it and
        // gets the call it knows.
        match self.vtable.handle_route_as() {
            Some(f) => ctx
                .caller()
                .with_info(|caller| f(self.state, raw(ctx), index, req, caller))
                .into_result(),
            None => (self.vtable.handle_route())(self.state, raw(ctx), index, req).into_result(),
        }
    }
}

/// A loader message on one line, at most 300 characters.
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &joined[..i]),
        None => joined,
    }
}

/// Only the `Error:` lines of abi_stable's (very long) layout report.
fn abi_error_lines(report: &str) -> String {
    let lines: Vec<&str> = report
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Error:"))
        .collect();
    let mut unique: Vec<&str> = Vec::new();
    for l in lines {
        if !unique.contains(&l) {
            unique.push(l);
        }
    }
    if unique.is_empty() {
        report.lines().take(5).collect::<Vec<_>>().join(" / ")
    } else {
        unique.join("; ")
    }
}

fn library_error(path: &Path, e: LibraryError) -> LoadError {
    match e {
        LibraryError::AbiInstability(report) => LoadError::AbiMismatch {
            details: abi_error_lines(&report.to_string()),
        },
        LibraryError::OpenError { .. } | LibraryError::GetSymbolError { .. } => {
            LoadError::NotAPlugin {
                path: path.to_path_buf(),
                cause: one_line(&e.to_string()),
            }
        }
        other => LoadError::AbiMismatch {
            details: abi_error_lines(&other.to_string()),
        },
    }
}

/// Checks the plugin's plugin-api version against the host's: same major,
/// minor not newer.
fn check_api_version(plugin: &str) -> Result<(), LoadError> {
    let incompatible = || LoadError::IncompatibleApi {
        plugin: plugin.to_string(),
        host: API_VERSION.to_string(),
    };
    let p = semver::Version::parse(plugin).map_err(|_| incompatible())?;
    let h = semver::Version::parse(API_VERSION).map_err(|_| incompatible())?;
    if p.major == h.major && p.major > 0 && (p.minor, p.patch) <= (h.minor, h.patch)
        || p.major == 0 && h.major == 0 && p.minor == h.minor && p.patch <= h.patch
    {
        Ok(())
    } else {
        Err(incompatible())
    }
}

static LOAD_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A mapped library image, its root module checked ([`map`]).
#[derive(Clone, Copy)]
struct Image {
    root: PluginRootRef,
}

/// Every library image mapped by this process, by the SHA-256 of its
/// bytes, with the slug its first instance reported. Images are never
/// unmapped (see the module docs), so this only grows with new bytes.
static IMAGES: std::sync::Mutex<Vec<(String, String, Image)>> = std::sync::Mutex::new(Vec::new());

/// How many distinct library images of plugin `slug` this process maps.
pub fn mapped_images(slug: &str) -> usize {
    IMAGES
        .lock()
        .map(|images| images.iter().filter(|(_, s, _)| s == slug).count())
        .unwrap_or(0)
}

/// Loads `library`: an image with the same bytes already mapped is reused
/// (a new instance of it); otherwise it is copied to a unique path under
/// `scratch` and mapped from there. [`stage_library`] then
/// [`StagedLibrary::load`].
pub fn load_library(library: &Path, scratch: &Path) -> Result<DynamicPlugin, LoadError> {
    stage_library(library, scratch)?.load()
}

/// A library copied to a unique path of its own, with the digest of the
/// copy: ready to be mapped. No code of the library has run yet, so many
/// can be staged at once (the start stages libraries in parallel and maps
/// them one at a time). The copy is removed when this is dropped.
#[derive(Debug)]
pub struct StagedLibrary {
    copy: PathBuf,
    library: PathBuf,
    digest: String,
}

/// Copies `library` to a unique path under `scratch` and hashes the copy:
/// the first half of [`load_library`], with no plugin code run.
pub fn stage_library(library: &Path, scratch: &Path) -> Result<StagedLibrary, LoadError> {
    if !library.is_file() {
        return Err(LoadError::MissingLibrary {
            path: library.to_path_buf(),
        });
    }
    let stage_err = |source| LoadError::Stage {
        path: library.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(scratch).map_err(stage_err)?;
    let n = LOAD_COUNTER.fetch_add(1, Ordering::Relaxed);
    let file_name = library
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into());
    let copy = scratch.join(format!(
        "{}-{}-{n}-{file_name}",
        std::process::id(),
        nanos()
    ));
    std::fs::copy(library, &copy).map_err(stage_err)?;
    // Owned from here: dropped (removed) on any error below.
    let mut staged = StagedLibrary {
        copy,
        library: library.to_path_buf(),
        digest: String::new(),
    };
    // The digest of the copy, the bytes that would be mapped: the library
    // may be rewritten meanwhile (a `dev` rebuild).
    staged.digest = sha256_of(&staged.copy).map_err(stage_err)?;
    Ok(staged)
}

impl StagedLibrary {
    /// The SHA-256 of the staged bytes, in hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Maps the staged copy (or reuses an image of the same bytes already
    /// mapped) and makes an instance: the library's code runs here (its
    /// constructors, its root module's initialiser, `instantiate`).
    pub fn load(self) -> Result<DynamicPlugin, LoadError> {
        let known = IMAGES.lock().ok().and_then(|images| {
            images
                .iter()
                .find(|(d, _, _)| *d == self.digest)
                .map(|(_, _, i)| *i)
        });
        if let Some(image) = known {
            return instantiate(image);
        }
        let image = map(&self.copy, &self.library)?;
        let plugin = instantiate(image)?;
        if let Ok(mut images) = IMAGES.lock() {
            // Two loads of new bytes at once both map them; one entry counts.
            if !images.iter().any(|(d, _, _)| *d == self.digest) {
                images.push((self.digest.clone(), plugin.slug.clone(), image));
            }
        }
        Ok(plugin)
    }
}

impl StagedLibrary {
    /// [`StagedLibrary::load`], then checks that the library is the plugin
    /// `manifest` describes ([`check_identity`]).
    pub fn load_as(self, manifest: &crate::manifest::Manifest) -> Result<DynamicPlugin, LoadError> {
        let plugin = self.load()?;
        check_identity(manifest, plugin.slug(), plugin.version())?;
        Ok(plugin)
    }
}

impl Drop for StagedLibrary {
    fn drop(&mut self) {
        // The mapping stays valid after the file is removed (unix); a copy
        // left by a process that died is removed at the next start
        // ([`remove_stale_copies`]).
        let _ = std::fs::remove_file(&self.copy);
    }
}

/// Removes the copies under `scratch` that processes no longer running
/// left behind (one killed while it staged or mapped libraries); a live
/// process's copies are its own. Where that cannot be told (no `/proc`),
/// nothing is removed.
pub fn remove_stale_copies(scratch: &Path) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let own = std::process::id().to_string();
    for entry in std::fs::read_dir(scratch).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().filter(|p| p.parse::<u32>().is_ok()) else {
            continue;
        };
        if pid != own && !proc.join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The SHA-256 of a file, in hex.
fn sha256_of(path: &Path) -> std::io::Result<String> {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Loads `library` from where it is, without a copy: only for a process
/// that maps it once and exits (the library check, [`crate::inspect`]).
pub fn load_in_place(library: &Path) -> Result<DynamicPlugin, LoadError> {
    if !library.is_file() {
        return Err(LoadError::MissingLibrary {
            path: library.to_path_buf(),
        });
    }
    instantiate(map(library, library)?)
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// The binary interface a library was built for, told by its root module's
/// layout: plugin-api 1.0–1.5 carried the error kind as a closed enum
/// (`abi::v1`), 1.6 and later as an open integer. Same memory either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generation {
    /// plugin-api 1.0–1.5.
    V1,
    /// plugin-api 1.6 and later.
    Current,
}

impl Generation {
    /// Finds the generation whose root-module shape the library's matches.
    fn of(header: &abi_stable::library::LibHeader) -> Result<Self, LoadError> {
        let Some(theirs) = header.layout() else {
            return Err(LoadError::AbiMismatch {
                details: "the library carries no root-module layout to check".into(),
            });
        };
        let current = check_layout_compatibility(<PluginRootRef as StableAbi>::LAYOUT, theirs);
        if current.is_ok() {
            return Ok(Generation::Current);
        }
        if check_layout_compatibility(<v1::PluginRootRef as StableAbi>::LAYOUT, theirs).is_ok() {
            return Ok(Generation::V1);
        }
        Err(LoadError::AbiMismatch {
            details: abi_error_lines(
                &current
                    .into_result()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
            ),
        })
    }

    /// The layouts of both vtables this generation is checked against.
    fn vtable_layouts(self) -> (&'static TypeLayout, &'static TypeLayout) {
        match self {
            Generation::V1 => (
                <v1::PluginVTable_Ref as StableAbi>::LAYOUT,
                <v1::HostVTable_Ref as StableAbi>::LAYOUT,
            ),
            Generation::Current => (
                <PluginVTable_Ref as StableAbi>::LAYOUT,
                <HostVTable_Ref as StableAbi>::LAYOUT,
            ),
        }
    }

    /// Whether a plugin-api version belongs to this generation.
    fn admits(self, api_version: &str) -> bool {
        let v1 = semver::Version::parse(api_version)
            .map(|v| v.major == 1 && v.minor < 6)
            .unwrap_or(false);
        v1 == (self == Generation::V1)
    }
}

/// Maps the library at `path` (named `shown_as` in errors) and checks its
/// root module: plugin-api version, panic strategy, both vtables' layouts.
fn map(path: &Path, shown_as: &Path) -> Result<Image, LoadError> {
    let header = lib_header_from_path(path).map_err(|e| library_error(shown_as, e))?;
    let generation = Generation::of(header)?;
    // SAFETY: the root module's layout was just checked against the shape
    // of `generation`; both generations' `PluginRoot` have the same memory
    // representation (the error kind is one byte with the same values), so
    // reading it as the current type is sound.
    let root = unsafe { header.init_root_module_with_unchecked_layout::<PluginRootRef>() }
        .map_err(|e| library_error(shown_as, e))?;
    let api_version = root.api_version().as_str().to_string();
    check_api_version(&api_version)?;
    if !generation.admits(&api_version) {
        return Err(LoadError::AbiMismatch {
            details: format!("plugin-api {api_version} with a {generation:?} root module"),
        });
    }
    if !root.panic_unwind() {
        return Err(LoadError::PanicAbort);
    }
    // The older side's layout is the interface (see plugboard_plugin_api::abi).
    let (plugin_vtable, host_vtable) = generation.vtable_layouts();
    check_layout_compatibility(root.plugin_vtable_layout(), plugin_vtable)
        .into_result()
        .map_err(|e| LoadError::AbiMismatch {
            details: format!("plugin vtable: {}", abi_error_lines(&e.to_string())),
        })?;
    check_layout_compatibility(root.host_vtable_layout(), host_vtable)
        .into_result()
        .map_err(|e| LoadError::AbiMismatch {
            details: format!("host vtable: {}", abi_error_lines(&e.to_string())),
        })?;
    Ok(Image { root })
}

/// A new instance of the plugin in `image`.
fn instantiate(image: Image) -> Result<DynamicPlugin, LoadError> {
    let root = image.root;
    let api_version = root.api_version().as_str().to_string();
    let handle = (root.instantiate())()
        .into_result()
        .map_err(LoadError::Instantiate)?;
    // SAFETY: `handle.vtable` is the plugin's `PluginVTable_Ref::to_raw_ptr()`
    // (see `plugboard_plugin_api::guest::instantiate`), and its layout was just
    // checked compatible with ours; the library is never unloaded, so the
    // vtable lives as long as the process.
    let vtable = unsafe {
        PluginVTable_Ref(PrefixRef::from_raw(
            handle.vtable as *const WithMetadata_<PluginVTable_Prefix, PluginVTable_Prefix>,
        ))
    };
    Ok(DynamicPlugin {
        state: handle.state,
        vtable,
        slug: handle.slug.into(),
        version: handle.version.into(),
        api_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_older_minor_load_newer_minor_and_other_major_do_not() {
        let host = semver::Version::parse(API_VERSION).unwrap();
        assert!(check_api_version(&format!("{}.0.0", host.major)).is_ok());
        assert!(check_api_version(API_VERSION).is_ok());
        assert!(check_api_version(&format!("{}.{}.0", host.major, host.minor + 1)).is_err());
        assert!(check_api_version(&format!("{}.0.0", host.major + 1)).is_err());
        assert!(check_api_version("not a version").is_err());
    }

    #[test]
    fn abi_report_is_cut_to_its_error_lines() {
        let report = "lots of\n  Error:incompatible type size\nnoise\n Error:incompatible type size\nError:mismatched type Expected: u32 Found: u64\n";
        assert_eq!(
            abi_error_lines(report),
            "Error:incompatible type size; Error:mismatched type Expected: u32 Found: u64"
        );
    }
}
