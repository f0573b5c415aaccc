//! Plugin-side glue: adapts a [`Plugin`] to the host, catching every panic.
//!
//! The same [`Adapter`] serves built-ins (called in-process through
//! [`PluginObject`]) and dynamic plugins (called through the `extern "C"`
//! functions of [`PluginVTable`], generated here for each plugin type).
#![allow(unsafe_code)]

use std::{
    any::Any,
    ffi::c_void,
    marker::PhantomData,
    panic::{catch_unwind, AssertUnwindSafe},
};

use abi_stable::{
    prefix_type::{PrefixTypeTrait, WithMetadata},
    std_types::{RResult, RVec},
    StableAbi,
};

use crate::{
    abi::{
        phase, user_hook, HostHandle, HostVTable_Ref, PluginHandle, PluginRoot, PluginRootRef,
        PluginVTable, PluginVTable_Ref, RouteSpec, API_VERSION,
    },
    context::Context,
    error::{PluginError, PluginResult},
    hooks::{HookCall, HookSpec, NewUser, Phase, PluginEvent, User},
    http::{Request, Response},
    object::PluginObject,
    plugin::{Plugin, Route},
};

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Runs `f`, turning a panic into [`PluginError::panicked`].
#[inline]
pub fn guard<T>(f: impl FnOnce() -> PluginResult<T>) -> PluginResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(PluginError::panicked(panic_message(&*payload))),
    }
}

/// A plugin with its route table, ready to be called by the host.
pub struct Adapter<P> {
    plugin: P,
    routes: Vec<Route<P>>,
    jobs: Vec<crate::plugin::Job<P>>,
    slug: String,
    version: String,
}

impl<P: Plugin> Adapter<P> {
    /// Wraps a plugin; `routes()`, `slug()` and `version()` are read once here.
    pub fn new(plugin: P) -> PluginResult<Self> {
        guard(|| {
            let routes = plugin.routes();
            let jobs = plugin.jobs();
            let slug = plugin.slug().to_string();
            let version = plugin.version().to_string();
            Ok(Self {
                plugin,
                routes,
                jobs,
                slug,
                version,
            })
        })
    }

    fn route_specs(&self) -> Vec<RouteSpec> {
        self.routes
            .iter()
            .map(|r| RouteSpec {
                method: r.method().as_str().into(),
                path: r.path().into(),
            })
            .collect()
    }

    fn job_specs(&self) -> Vec<crate::abi::JobSpec> {
        self.jobs
            .iter()
            .map(|j| crate::abi::JobSpec {
                name: j.name().into(),
                schedule: j.schedule().into(),
            })
            .collect()
    }

    fn job(&self, ctx: &Context<'_>, index: u32) -> PluginResult {
        let job = self.jobs.get(index as usize).ok_or_else(|| {
            PluginError::not_found(format!("no job with index {index} in {}", self.slug))
        })?;
        (job.handler())(&self.plugin, ctx)
    }

    fn dispatch(&self, ctx: &Context<'_>, call: &mut HookCall<'_>) -> PluginResult {
        let p = &self.plugin;
        match call {
            HookCall::BeforeUserCreate(user) => p.before_user_create(ctx, user),
            HookCall::UserCreated(user) => p.on_user_created(ctx, user),
            HookCall::UserUpdated(user) => p.on_user_updated(ctx, user),
            HookCall::UserDeleted(user) => p.on_user_deleted(ctx, user),
            HookCall::UserLogin(user) => p.on_user_login(ctx, user),
            HookCall::UserLogout(user) => p.on_user_logout(ctx, user),
            HookCall::SystemStartup => p.on_system_startup(ctx),
            HookCall::SystemShutdown => p.on_system_shutdown(ctx),
            HookCall::PluginLifecycle(event) => p.on_plugin_event(ctx, event),
        }
    }

    fn run_phase(&self, ctx: &Context<'_>, phase: Phase) -> PluginResult {
        let p = &self.plugin;
        match phase {
            Phase::Load => p.on_load(ctx),
            Phase::Enable => p.on_enable(ctx),
            Phase::Disable => p.on_disable(ctx),
            Phase::Unload => p.on_unload(ctx),
        }
    }

    fn route(&self, ctx: &Context<'_>, index: u32, req: &Request<'_>) -> PluginResult<Response> {
        let route = self.routes.get(index as usize).ok_or_else(|| {
            PluginError::not_found(format!("no route with index {index} in {}", self.slug))
        })?;
        (route.handler())(&self.plugin, ctx, req)
    }
}

impl<P: Plugin> PluginObject for Adapter<P> {
    fn slug(&self) -> &str {
        &self.slug
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn hooks(&self) -> PluginResult<Vec<HookSpec>> {
        guard(|| Ok(self.plugin.hooks()))
    }
    fn routes(&self) -> PluginResult<Vec<RouteSpec>> {
        Ok(self.route_specs())
    }
    fn route_docs(&self) -> PluginResult<Vec<crate::RouteDoc>> {
        Ok(self.routes.iter().map(|r| r.doc().clone()).collect())
    }
    fn migrations(&self) -> PluginResult<Vec<crate::abi::Migration>> {
        guard(|| Ok(self.plugin.migrations()))
    }
    fn subscriptions(&self) -> PluginResult<Vec<String>> {
        guard(|| Ok(self.plugin.subscriptions()))
    }
    fn jobs(&self) -> PluginResult<Vec<crate::abi::JobSpec>> {
        Ok(self.job_specs())
    }
    fn config_schema(&self) -> PluginResult<Option<serde_json::Value>> {
        guard(|| Ok(self.plugin.config_schema()))
    }
    fn on_config_changed(&self, ctx: &Context<'_>, config: &serde_json::Value) -> PluginResult {
        guard(|| self.plugin.on_config_changed(ctx, config))
    }
    fn on_upgrade(&self, ctx: &Context<'_>, from_version: &str) -> PluginResult {
        guard(|| self.plugin.on_upgrade(ctx, from_version))
    }
    fn run_job(&self, ctx: &Context<'_>, index: u32) -> PluginResult {
        guard(|| self.job(ctx, index))
    }
    fn on_event(&self, ctx: &Context<'_>, name: &str, payload: &str) -> PluginResult {
        guard(|| self.plugin.on_event(ctx, &crate::Event::new(name, payload)))
    }
    fn lifecycle(&self, ctx: &Context<'_>, phase: Phase) -> PluginResult {
        guard(|| self.run_phase(ctx, phase))
    }
    #[inline]
    fn call_hook(&self, ctx: &Context<'_>, call: &mut HookCall<'_>) -> PluginResult {
        guard(|| self.dispatch(ctx, call))
    }
    fn handle_route(
        &self,
        ctx: &Context<'_>,
        index: u32,
        req: &Request<'_>,
    ) -> PluginResult<Response> {
        guard(|| self.route(ctx, index, req))
    }
}

/// Wraps a built-in plugin for the host's registry.
///
/// ```
/// use plugboard_plugin_api::prelude::*;
///
/// struct Noop;
/// impl Plugin for Noop {
///     fn slug(&self) -> &str { "noop" }
///     fn version(&self) -> &str { "1.0.0" }
/// }
/// let object = plugboard_plugin_api::builtin(Noop).unwrap();
/// assert_eq!(object.slug(), "noop");
/// ```
pub fn builtin<P: Plugin>(plugin: P) -> PluginResult<Box<dyn PluginObject>> {
    Ok(Box::new(Adapter::new(plugin)?))
}

/// A built-in plugin as the host's registry lists it: its manifest (the same
/// JSON as a dynamic plugin's `plugin.json`, without `library`) and how to
/// make it.
///
/// ```
/// use plugboard_plugin_api::{prelude::*, BuiltinPlugin};
///
/// struct Noop;
/// impl Plugin for Noop {
///     fn slug(&self) -> &str { "noop" }
///     fn version(&self) -> &str { "1.0.0" }
/// }
/// const NOOP: BuiltinPlugin = BuiltinPlugin {
///     manifest: r#"{"slug": "noop", "version": "1.0.0", "capabilities": {}}"#,
///     make: || plugboard_plugin_api::builtin(Noop),
/// };
/// assert_eq!((NOOP.make)().unwrap().slug(), "noop");
/// ```
#[derive(Clone, Copy)]
pub struct BuiltinPlugin {
    /// The manifest as JSON text.
    pub manifest: &'static str,
    /// Creates the instance.
    pub make: fn() -> PluginResult<Box<dyn PluginObject>>,
}

// ---- the dynamic side: extern "C" entry points over an `Adapter<P>` ----
//
// Invariant for every function below: `state` is the pointer produced by
// `Box::into_raw(Box<Adapter<P>>)` in `instantiate::<P>` for the same `P`
// (the host passes back the `state` it received with this vtable), and it is
// not freed before `drop_state::<P>`; `ctx` was built by the host from a
// vtable whose layout the host checked against this crate's `HostVTable_Ref`.

fn adapter<'a, P>(state: *const c_void) -> &'a Adapter<P> {
    // SAFETY: see the invariant above.
    unsafe { &*(state as *const Adapter<P>) }
}

fn context<'a>(ctx: HostHandle) -> Context<'a> {
    // SAFETY: see the invariant above.
    unsafe { Context::from_raw(ctx) }
}

extern "C" fn drop_state<P: Plugin>(state: *const c_void) {
    // A panic in the plugin's Drop must not unwind into the host.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see the invariant above; the host calls this exactly once.
        drop(unsafe { Box::from_raw(state as *mut Adapter<P>) });
    }));
}

extern "C" fn hooks<P: Plugin>(state: *const c_void) -> RResult<RVec<HookSpec>, PluginError> {
    guard(|| Ok(RVec::from(adapter::<P>(state).plugin.hooks()))).into()
}

extern "C" fn routes<P: Plugin>(state: *const c_void) -> RResult<RVec<RouteSpec>, PluginError> {
    guard(|| Ok(RVec::from(adapter::<P>(state).route_specs()))).into()
}

extern "C" fn lifecycle<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    which: u8,
) -> RResult<(), PluginError> {
    guard(|| {
        let phase = match which {
            phase::LOAD => Phase::Load,
            phase::ENABLE => Phase::Enable,
            phase::DISABLE => Phase::Disable,
            phase::UNLOAD => Phase::Unload,
            other => {
                return Err(PluginError::failed(format!(
                    "unknown lifecycle phase {other}"
                )))
            }
        };
        adapter::<P>(state).run_phase(&context(ctx), phase)
    })
    .into()
}

extern "C" fn user_hook_fn<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    hook: u8,
    user: &User,
) -> RResult<(), PluginError> {
    guard(|| {
        let mut call = match hook {
            user_hook::CREATED => HookCall::UserCreated(user),
            user_hook::UPDATED => HookCall::UserUpdated(user),
            user_hook::DELETED => HookCall::UserDeleted(user),
            user_hook::LOGIN => HookCall::UserLogin(user),
            user_hook::LOGOUT => HookCall::UserLogout(user),
            other => return Err(PluginError::failed(format!("unknown user hook {other}"))),
        };
        adapter::<P>(state).dispatch(&context(ctx), &mut call)
    })
    .into()
}

extern "C" fn before_user_create<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    user: &mut NewUser,
) -> RResult<(), PluginError> {
    guard(|| {
        adapter::<P>(state)
            .plugin
            .before_user_create(&context(ctx), user)
    })
    .into()
}

extern "C" fn system_hook<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    startup: bool,
) -> RResult<(), PluginError> {
    guard(|| {
        let p = &adapter::<P>(state).plugin;
        if startup {
            p.on_system_startup(&context(ctx))
        } else {
            p.on_system_shutdown(&context(ctx))
        }
    })
    .into()
}

extern "C" fn plugin_event<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    event: &PluginEvent<'_>,
) -> RResult<(), PluginError> {
    guard(|| {
        adapter::<P>(state)
            .plugin
            .on_plugin_event(&context(ctx), event)
    })
    .into()
}

extern "C" fn handle_route<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    index: u32,
    request: &Request<'_>,
) -> RResult<Response, PluginError> {
    guard(|| adapter::<P>(state).route(&context(ctx), index, request)).into()
}

extern "C" fn handle_route_as<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    index: u32,
    request: &Request<'_>,
    caller: &crate::abi::CallerInfo<'_>,
) -> RResult<Response, PluginError> {
    guard(|| {
        let caller = crate::caller::Caller::from_info(caller);
        adapter::<P>(state).route(&context(ctx).with_caller(&caller), index, request)
    })
    .into()
}

extern "C" fn route_docs<P: Plugin>(
    state: *const c_void,
) -> RResult<abi_stable::std_types::RString, PluginError> {
    guard(|| {
        let docs = adapter::<P>(state).route_docs()?;
        serde_json::to_string(&docs)
            .map(Into::into)
            .map_err(|e| PluginError::failed(format!("cannot encode the route docs: {e}")))
    })
    .into()
}

extern "C" fn migrations<P: Plugin>(
    state: *const c_void,
) -> RResult<RVec<crate::abi::Migration>, PluginError> {
    guard(|| Ok(RVec::from(adapter::<P>(state).plugin.migrations()))).into()
}

extern "C" fn subscriptions<P: Plugin>(
    state: *const c_void,
) -> RResult<RVec<abi_stable::std_types::RString>, PluginError> {
    guard(|| {
        Ok(adapter::<P>(state)
            .plugin
            .subscriptions()
            .into_iter()
            .map(Into::into)
            .collect())
    })
    .into()
}

extern "C" fn on_event<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    name: abi_stable::std_types::RStr<'_>,
    payload: abi_stable::std_types::RStr<'_>,
) -> RResult<(), PluginError> {
    guard(|| {
        adapter::<P>(state).plugin.on_event(
            &context(ctx),
            &crate::Event::new(name.as_str(), payload.as_str()),
        )
    })
    .into()
}

extern "C" fn jobs<P: Plugin>(
    state: *const c_void,
) -> RResult<RVec<crate::abi::JobSpec>, PluginError> {
    guard(|| Ok(RVec::from(adapter::<P>(state).job_specs()))).into()
}

extern "C" fn run_job<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    index: u32,
) -> RResult<(), PluginError> {
    guard(|| adapter::<P>(state).job(&context(ctx), index)).into()
}

extern "C" fn config_schema<P: Plugin>(
    state: *const c_void,
) -> RResult<abi_stable::std_types::ROption<abi_stable::std_types::RString>, PluginError> {
    guard(|| {
        Ok(adapter::<P>(state)
            .plugin
            .config_schema()
            .map(|s| s.to_string().into())
            .into())
    })
    .into()
}

extern "C" fn on_config_changed<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    config: abi_stable::std_types::RStr<'_>,
) -> RResult<(), PluginError> {
    guard(|| {
        let value: serde_json::Value = serde_json::from_str(config.as_str())?;
        adapter::<P>(state)
            .plugin
            .on_config_changed(&context(ctx), &value)
    })
    .into()
}

extern "C" fn on_upgrade<P: Plugin>(
    state: *const c_void,
    ctx: HostHandle,
    from_version: abi_stable::std_types::RStr<'_>,
) -> RResult<(), PluginError> {
    guard(|| {
        adapter::<P>(state)
            .plugin
            .on_upgrade(&context(ctx), from_version.as_str())
    })
    .into()
}

struct VTableFor<P>(PhantomData<P>);

impl<P: Plugin> VTableFor<P> {
    const WM: &'static WithMetadata<PluginVTable> = &WithMetadata::new(PluginVTable {
        drop: drop_state::<P>,
        hooks: hooks::<P>,
        routes: routes::<P>,
        lifecycle: lifecycle::<P>,
        user_hook: user_hook_fn::<P>,
        before_user_create: before_user_create::<P>,
        system_hook: system_hook::<P>,
        plugin_event: plugin_event::<P>,
        handle_route: handle_route::<P>,
        migrations: migrations::<P>,
        subscriptions: subscriptions::<P>,
        on_event: on_event::<P>,
        jobs: jobs::<P>,
        run_job: run_job::<P>,
        config_schema: config_schema::<P>,
        on_config_changed: on_config_changed::<P>,
        on_upgrade: on_upgrade::<P>,
        handle_route_as: handle_route_as::<P>,
        route_docs: route_docs::<P>,
    });
    const REF: PluginVTable_Ref = PluginVTable_Ref(Self::WM.static_as_prefix());
}

/// Creates a plugin instance for the host (used by [`export_plugin!`](crate::export_plugin)).
pub fn instantiate<P: Plugin>(make: impl FnOnce() -> P) -> RResult<PluginHandle, PluginError> {
    guard(|| {
        let adapter = Adapter::new(make())?;
        let slug = adapter.slug.as_str().into();
        let version = adapter.version.as_str().into();
        let state = Box::into_raw(Box::new(adapter)) as *const c_void;
        Ok(PluginHandle {
            slug,
            version,
            state,
            vtable: VTableFor::<P>::REF.0.to_raw_ptr() as *const c_void,
        })
    })
    .into()
}

/// Builds the root module (used by [`export_plugin!`](crate::export_plugin)).
pub fn root_module(
    instantiate: extern "C" fn() -> RResult<PluginHandle, PluginError>,
    panic_unwind: bool,
) -> PluginRootRef {
    PluginRoot {
        api_version: API_VERSION.into(),
        panic_unwind,
        plugin_vtable_layout: <PluginVTable_Ref as StableAbi>::LAYOUT,
        host_vtable_layout: <HostVTable_Ref as StableAbi>::LAYOUT,
        instantiate,
    }
    .leak_into_prefix()
}

/// Exports a plugin from a `cdylib`: the root module the host loads.
///
/// Give it an expression that creates the plugin. Every entry point it
/// generates catches panics on the plugin's side and returns them as errors;
/// build the plugin with `panic = "unwind"` (the default), as the host refuses
/// `panic = "abort"` builds.
///
/// ```no_run
/// use plugboard_plugin_api::prelude::*;
///
/// #[derive(Default)]
/// pub struct Guestbook;
/// impl Plugin for Guestbook {
///     fn slug(&self) -> &str { "guestbook" }
///     fn version(&self) -> &str { env!("CARGO_PKG_VERSION") }
/// }
///
/// plugboard_plugin_api::export_plugin!(Guestbook::default());
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($make:expr) => {
        const _: () = {
            use $crate::__private::abi_stable as __abi;

            extern "C" fn __plugboard_instantiate(
            ) -> __abi::std_types::RResult<$crate::abi::PluginHandle, $crate::PluginError> {
                $crate::guest::instantiate(|| $make)
            }

            fn __plugboard_root() -> $crate::abi::PluginRootRef {
                $crate::guest::root_module(__plugboard_instantiate, cfg!(panic = "unwind"))
            }

            extern "C" fn __plugboard_erased_root() -> __abi::library::RootModuleResult {
                __abi::library::__call_root_module_loader(__plugboard_root)
            }

            // The symbol abi_stable's loader looks for; its name is checked against
            // `abi_stable::library::ROOT_MODULE_LOADER_NAME` by a test of plugin-api.
            #[allow(unsafe_code)]
            #[export_name = "_1as_0lib_1header_0root_bmodule_bloader"]
            pub static __PLUGBOARD_LIB_HEADER: __abi::library::LibHeader = unsafe {
                // SAFETY: the constructor returns the root module of type
                // `PluginRootRef`, as `from_constructor` requires.
                __abi::library::LibHeader::from_constructor::<$crate::abi::PluginRootRef>(
                    __plugboard_erased_root,
                    __abi::library::CheckTypeLayout::Yes,
                )
            };
        };
    };
}
