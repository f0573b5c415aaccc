//! Per-plugin file storage (since plugin-api 1.6): named blobs the host keeps
//! for one plugin, within a per-file size limit and a per-plugin quota set by
//! the operator. Declared in `plugin.json` as the capability `"files": true`.
//!
//! ```
//! use plugboard_plugin_api::{prelude::*, testing::MemoryHost};
//!
//! fn save_avatar(ctx: &Context, user: &str, png: &[u8]) -> PluginResult<()> {
//!     ctx.files().put(&format!("avatars/{user}.png"), png)
//! }
//!
//! let host = MemoryHost::new();
//! let ctx = host.context();
//! save_avatar(&ctx, "ada", b"\x89PNG...").unwrap();
//! assert_eq!(ctx.files().get("avatars/ada.png").unwrap().as_deref(), Some(&b"\x89PNG..."[..]));
//! let listed = ctx.files().list("avatars/").unwrap();
//! assert_eq!((listed[0].name(), listed[0].size()), ("avatars/ada.png", 7));
//! assert!(ctx.files().delete("avatars/ada.png").unwrap());
//! assert_eq!(ctx.files().get("avatars/ada.png").unwrap(), None);
//! ```
//!
//! Names are 1–200 bytes of letters, digits, `.`, `_`, `-` and `/`
//! (no leading `/`, no empty, `.` or `..` segment): see [`valid_name`].
#![allow(unsafe_code)]

use std::ffi::c_void;

use abi_stable::{
    std_types::{ROption, RResult, RSlice, RStr, RString, RVec},
    StableAbi,
};

use crate::{
    context::{into_result, unsupported, Context},
    error::{PluginError, PluginResult},
};

/// One stored file: its name and size in bytes.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    name: RString,
    size: u64,
}

impl FileEntry {
    /// A listing entry.
    pub fn new(name: impl Into<String>, size: u64) -> Self {
        Self {
            name: RString::from(name.into()),
            size,
        }
    }
    /// The file's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// The longest file name, in bytes.
pub const MAX_NAME_LEN: usize = 200;

/// Whether `name` is a valid file name (the host refuses others as invalid).
///
/// ```
/// use plugboard_plugin_api::files::valid_name;
/// assert!(valid_name("reports/2026-12.csv"));
/// assert!(!valid_name("../etc/passwd"));
/// assert!(!valid_name("/abs"));
/// assert!(!valid_name("a//b"));
/// assert!(!valid_name("white space"));
/// ```
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
        && name
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// The host side of file storage, implemented by whatever serves a plugin
/// (the Plugboard host, [`MemoryHost`](crate::testing::MemoryHost)).
pub trait FilesHost: Send + Sync {
    /// Stores `bytes` under `name`, replacing any older content.
    fn put(&self, name: &str, bytes: &[u8]) -> PluginResult<()>;
    /// The content stored under `name`, if any.
    fn get(&self, name: &str) -> PluginResult<Option<Vec<u8>>>;
    /// Deletes `name`; whether it existed.
    fn delete(&self, name: &str) -> PluginResult<bool>;
    /// The files whose names start with `prefix`, sorted by name.
    fn list(&self, prefix: &str) -> PluginResult<Vec<FileEntry>>;
}

/// The file storage services as they cross the boundary: a sub-vtable of
/// [`HostVTable`](crate::abi::HostVTable) that grows on its own by
/// appending fields, like the main one.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix))]
#[sabi(missing_field(option))]
pub struct FilesVTable {
    /// Stores a file.
    pub put: extern "C" fn(
        data: *const c_void,
        name: RStr<'_>,
        bytes: RSlice<'_, u8>,
    ) -> RResult<(), PluginError>,
    /// Reads a file.
    pub get: extern "C" fn(
        data: *const c_void,
        name: RStr<'_>,
    ) -> RResult<ROption<RVec<u8>>, PluginError>,
    /// Deletes a file.
    pub delete: extern "C" fn(data: *const c_void, name: RStr<'_>) -> RResult<bool, PluginError>,
    /// Lists files by name prefix.
    #[sabi(last_prefix_field)]
    pub list: extern "C" fn(
        data: *const c_void,
        prefix: RStr<'_>,
    ) -> RResult<RVec<FileEntry>, PluginError>,
}

/// A plugin's files, from [`Context::files`].
pub struct Files<'a> {
    pub(crate) ctx: &'a Context<'a>,
}

impl Files<'_> {
    fn vtable(&self) -> PluginResult<(FilesVTable_Ref, *const c_void)> {
        let (host, data) = self.ctx.host_vtable();
        match host.files() {
            Some(files) => Ok((files, data)),
            None => Err(unsupported("file storage", "1.6")),
        }
    }
    /// Stores `bytes` under `name` (refused past the host's size limit or
    /// the plugin's quota).
    pub fn put(&self, name: &str, bytes: &[u8]) -> PluginResult<()> {
        let (v, data) = self.vtable()?;
        into_result((v.put())(data, name.into(), RSlice::from_slice(bytes)))
    }
    /// The content of `name`, if it exists.
    pub fn get(&self, name: &str) -> PluginResult<Option<Vec<u8>>> {
        let (v, data) = self.vtable()?;
        into_result((v.get())(data, name.into())).map(|o| o.into_option().map(RVec::into_vec))
    }
    /// Deletes `name`; whether it existed.
    pub fn delete(&self, name: &str) -> PluginResult<bool> {
        let (v, data) = self.vtable()?;
        into_result((v.delete())(data, name.into()))
    }
    /// The files whose names start with `prefix` (`""` for all), by name.
    pub fn list(&self, prefix: &str) -> PluginResult<Vec<FileEntry>> {
        let (v, data) = self.vtable()?;
        into_result((v.list())(data, prefix.into())).map(RVec::into_vec)
    }
}

// ---- host side: the sub-vtable over any `HostServices` ----

/// The [`FilesVTable`] a host built with [`crate::host::context_for`] gives
/// plugins, over `S`'s [`HostServices::files`](crate::host::HostServices::files).
pub(crate) struct FilesVTableFor<S>(std::marker::PhantomData<S>);

impl<S: crate::host::HostServices> FilesVTableFor<S> {
    const VALUE: abi_stable::prefix_type::WithMetadata<FilesVTable> =
        abi_stable::prefix_type::WithMetadata::new(FilesVTable {
            put: put::<S>,
            get: get::<S>,
            delete: delete::<S>,
            list: list::<S>,
        });
    pub(crate) const REF: FilesVTable_Ref = FilesVTable_Ref(Self::VALUE.static_as_prefix());
}

fn with_files<S: crate::host::HostServices, T>(
    data: *const c_void,
    f: impl FnOnce(&dyn FilesHost) -> PluginResult<T>,
) -> RResult<T, PluginError> {
    crate::host::serve::<S, T>(data, || match crate::host::services::<S>(data).files() {
        Some(files) => f(files),
        None => Err(unsupported("file storage", "1.6")),
    })
    .into()
}

extern "C" fn put<S: crate::host::HostServices>(
    data: *const c_void,
    name: RStr<'_>,
    bytes: RSlice<'_, u8>,
) -> RResult<(), PluginError> {
    with_files::<S, _>(data, |f| f.put(name.as_str(), bytes.as_slice()))
}

extern "C" fn get<S: crate::host::HostServices>(
    data: *const c_void,
    name: RStr<'_>,
) -> RResult<ROption<RVec<u8>>, PluginError> {
    with_files::<S, _>(data, |f| {
        f.get(name.as_str()).map(|o| o.map(RVec::from).into())
    })
}

extern "C" fn delete<S: crate::host::HostServices>(
    data: *const c_void,
    name: RStr<'_>,
) -> RResult<bool, PluginError> {
    with_files::<S, _>(data, |f| f.delete(name.as_str()))
}

extern "C" fn list<S: crate::host::HostServices>(
    data: *const c_void,
    prefix: RStr<'_>,
) -> RResult<RVec<FileEntry>, PluginError> {
    with_files::<S, _>(data, |f| f.list(prefix.as_str()).map(RVec::from))
}
