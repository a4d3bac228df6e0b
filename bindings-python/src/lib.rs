//! `waiaas._native`: the Rust half of the `waiaas` Python package.
//!
//! Two classes wrap the core's client traits ([`AgentApi`], [`AdminApi`]), each either
//! embedded (an [`Engine`] in this process) or remote (a daemon over HTTP):
//! - `Agent`: what an agent may do with a session token;
//! - `Admin`: what the operator may do (the embedded one holds the opened data dir).
//!
//! Both expose one entry point per calling style, `call(method, args_json)` (an asyncio
//! future of the running loop, the work done on this module's tokio runtime) and
//! `call_blocking(method, args_json)` (runs with the GIL released). Arguments and results
//! cross as JSON text: the Python layer (`python/waiaas/`) builds the upstream SDK's
//! method signatures on top and returns dicts. Errors raise `waiaas.WAIaaSError` carrying
//! the core's `code`, `message`, `retryable`, `status`, `details` and `hint`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use waiaas_core::client::dispatch::{call_admin, call_agent, CallArgs};
use waiaas_core::client::embedded::{open_embedded, EmbeddedAdmin, EmbeddedAgent};
use waiaas_core::client::remote::{RemoteAdmin, RemoteAgent};
use waiaas_core::client::{AdminApi, AgentApi};
use waiaas_core::{Engine, Error};

/// The tokio runtime every call of this module runs on. Never shut down: its threads die
/// with the process.
#[allow(clippy::expect_used, reason = "without its runtime the module can do nothing; the OS refusing threads is the only cause")]
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().thread_name("waiaas-py").enable_all().build().expect("cannot start the tokio runtime of waiaas._native")
    })
}

/// `true` once the interpreter is exiting (set by an `atexit` hook, which runs before
/// finalization starts). A runtime thread holds this lock while it hands a result to Python,
/// so the two never overlap: after the hook, no runtime thread asks for the GIL again. (A
/// thread that asks for the GIL of a finalizing 3.11 interpreter is unwound by
/// `pthread_exit` through Rust frames, which dropped Python objects without the GIL and
/// crashed the process at exit now and then.)
static EXITING: Mutex<bool> = Mutex::new(false);

/// Run `work` on the runtime and return an asyncio future of the running loop that it
/// completes (through `call_soon_threadsafe`) with `convert(result)` or the error raised as
/// `waiaas.WAIaaSError`. A future cancelled meanwhile is left cancelled; the work finishes.
fn spawn_awaitable<'py, T, W>(py: Python<'py>, work: W, convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    W: Future<Output = Result<T, Error>> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let future = event_loop.call_method0("create_future")?;
    // One function object for every call.
    static DELIVER: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    let deliver = DELIVER.get_or_try_init(py, || wrap_pyfunction!(deliver, py).map(|f| f.into_any().unbind()))?.clone_ref(py);
    let (event_loop, target) = (event_loop.unbind(), future.clone().unbind());
    runtime().spawn(async move {
        let result = work.await;
        let exiting = EXITING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if *exiting {
            // No GIL to drop them with any more: leak them, the process is going away.
            std::mem::forget((event_loop, target, deliver, result));
            return;
        }
        Python::attach(|py| {
            let (ok, value) = match result.map_err(to_py_err).and_then(|v| convert(py, v)) {
                Ok(v) => (true, v),
                Err(e) => (false, e.into_value(py).into_any()),
            };
            // A closed loop (its `asyncio.run` ended) has nobody left to tell.
            let _ = event_loop.bind(py).call_method1("call_soon_threadsafe", (deliver, target, ok, value));
        });
        drop(exiting);
    });
    Ok(future)
}

/// Complete `future` with `value` (or raise it, `ok` false) unless it is already done.
#[pyfunction]
fn deliver(future: &Bound<'_, PyAny>, ok: bool, value: Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    future.call_method1(if ok { "set_result" } else { "set_exception" }, (value,))?;
    Ok(())
}

/// The `atexit` hook: from now on no runtime thread touches Python. Waits (without the GIL)
/// for a hand-over in progress.
#[pyfunction]
fn _at_exit(py: Python<'_>) {
    py.detach(|| *EXITING.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true);
}

fn json_text(py: Python<'_>, v: Value) -> PyResult<Py<PyAny>> {
    Ok(v.to_string().into_pyobject(py)?.into_any().unbind())
}

/// Build a `waiaas.WAIaaSError` for `e`.
fn to_py_err(e: Error) -> PyErr {
    Python::attach(|py| build_err(py, &e).unwrap_or_else(|err| err))
}

fn build_err(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let cls = py.import("waiaas._errors")?.getattr("WAIaaSError")?;
    let body = e.to_body();
    let kwargs = PyDict::new(py);
    kwargs.set_item("status", e.status())?;
    kwargs.set_item("retryable", e.retryable())?;
    match &e.details {
        Some(d) => kwargs.set_item("details", py.import("json")?.getattr("loads")?.call1((d.to_string(),))?)?,
        None => kwargs.set_item("details", py.None())?,
    }
    kwargs.set_item("hint", body.get("hint").and_then(Value::as_str))?;
    kwargs.set_item("request_id", e.request_id.as_deref())?;
    let instance = cls.call((e.code.as_str(), e.message.as_str()), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}

/// An agent: session-token operations, embedded or over HTTP.
#[pyclass(frozen, module = "waiaas._native")]
struct Agent {
    api: Arc<dyn AgentApi>,
    mode: &'static str,
}

#[pymethods]
impl Agent {
    /// An agent of the daemon at `base_url`.
    #[staticmethod]
    fn remote(base_url: &str, session_token: String) -> PyResult<Agent> {
        let api = RemoteAgent::new(base_url, session_token).map_err(to_py_err)?;
        Ok(Agent { api: Arc::new(api), mode: "remote" })
    }

    /// `method(args)` as an awaitable resolving to the JSON text of the result.
    fn call<'py>(&self, py: Python<'py>, method: String, args: &str) -> PyResult<Bound<'py, PyAny>> {
        let args = CallArgs::parse(args).map_err(to_py_err)?;
        let api = self.api.clone();
        spawn_awaitable(py, async move { call_agent(&*api, &method, args).await }, json_text)
    }

    /// `method(args)` now, with the GIL released; returns the JSON text of the result.
    fn call_blocking(&self, py: Python<'_>, method: String, args: &str) -> PyResult<String> {
        let args = CallArgs::parse(args).map_err(to_py_err)?;
        let api = self.api.clone();
        py.detach(move || runtime().block_on(call_agent(&*api, &method, args))).map(|v| v.to_string()).map_err(to_py_err)
    }

    /// The session token presented now (a renewal replaces it).
    #[getter]
    fn session_token(&self) -> String {
        self.api.session_token()
    }

    /// `"embedded"` or `"remote"`.
    #[getter]
    fn mode(&self) -> &'static str {
        self.mode
    }
}

/// The operator: master-password operations, embedded (an opened data dir) or over HTTP.
#[pyclass(frozen, module = "waiaas._native")]
struct Admin {
    api: Arc<dyn AdminApi>,
    /// Embedded: the engine agents of this data dir use.
    engine: Option<Engine>,
    base_url: Option<String>,
    data_dir: Option<PathBuf>,
}

impl Admin {
    fn embedded(engine: Engine, data_dir: PathBuf) -> Admin {
        Admin { api: Arc::new(EmbeddedAdmin::new(engine.clone())), engine: Some(engine), base_url: None, data_dir: Some(data_dir) }
    }
}

#[pymethods]
impl Admin {
    /// The operator of the daemon at `base_url`.
    #[staticmethod]
    fn remote(base_url: &str, master_password: String) -> PyResult<Admin> {
        let api = RemoteAdmin::new(base_url, master_password).map_err(to_py_err)?;
        let base_url = Some(api.base_url().to_string());
        Ok(Admin { api: Arc::new(api), engine: None, base_url, data_dir: None })
    }

    /// Open a data dir in this process (awaitable resolving to an `Admin`).
    #[staticmethod]
    fn open(py: Python<'_>, data_dir: PathBuf, master_password: String) -> PyResult<Bound<'_, PyAny>> {
        let work = async move { open_embedded(&data_dir, &master_password).await.map(|engine| Admin::embedded(engine, data_dir)) };
        spawn_awaitable(py, work, |py, admin| Ok(Py::new(py, admin)?.into_any()))
    }

    /// Open a data dir in this process now, with the GIL released.
    #[staticmethod]
    fn open_blocking(py: Python<'_>, data_dir: PathBuf, master_password: String) -> PyResult<Admin> {
        let dir = data_dir.clone();
        let engine = py.detach(move || runtime().block_on(open_embedded(&dir, &master_password))).map_err(to_py_err)?;
        Ok(Admin::embedded(engine, data_dir))
    }

    fn call<'py>(&self, py: Python<'py>, method: String, args: &str) -> PyResult<Bound<'py, PyAny>> {
        let args = CallArgs::parse(args).map_err(to_py_err)?;
        let api = self.api.clone();
        spawn_awaitable(py, async move { call_admin(&*api, &method, args).await }, json_text)
    }

    fn call_blocking(&self, py: Python<'_>, method: String, args: &str) -> PyResult<String> {
        let args = CallArgs::parse(args).map_err(to_py_err)?;
        let api = self.api.clone();
        py.detach(move || runtime().block_on(call_admin(&*api, &method, args))).map(|v| v.to_string()).map_err(to_py_err)
    }

    /// An agent presenting `session_token`: to this engine (embedded) or to this daemon.
    fn agent(&self, session_token: String) -> PyResult<Agent> {
        match (&self.engine, &self.base_url) {
            (Some(engine), _) => Ok(Agent { api: Arc::new(EmbeddedAgent::new(engine.clone(), session_token)), mode: "embedded" }),
            (None, Some(base)) => Agent::remote(base, session_token),
            (None, None) => Err(to_py_err(Error::internal("admin handle without an engine or a base URL"))),
        }
    }

    #[getter]
    fn mode(&self) -> &'static str {
        if self.engine.is_some() {
            "embedded"
        } else {
            "remote"
        }
    }

    #[getter]
    fn base_url(&self) -> Option<String> {
        self.base_url.clone()
    }

    #[getter]
    fn data_dir(&self) -> Option<PathBuf> {
        self.data_dir.clone()
    }

    /// The domain an owner message must name through this handle (`host:port` of the daemon
    /// as reached; embedded: the data dir's `"{daemon.hostname}:{daemon.port}"`).
    #[getter]
    fn owner_domain(&self) -> Option<String> {
        self.api.owner_domain()
    }
}

/// The EIP-4361 message an owner signs to authorize one `action` (`approve:<txId>`,
/// `reject:<txId>`, `verify:<walletId>`, `kill-switch:activate`, `kill-switch:recover`).
#[pyfunction]
#[pyo3(signature = (chain, domain, address, nonce, action, ttl_seconds = 300))]
fn owner_message(chain: &str, domain: &str, address: &str, nonce: &str, action: &str, ttl_seconds: u32) -> PyResult<String> {
    waiaas_core::client::owner_message(chain, domain, address, nonce, action, i64::from(ttl_seconds)).map_err(to_py_err)
}

/// The method names the agent (`"agent"`) and operator (`"admin"`) classes must offer:
/// the client columns of the core's operation table (`waiaas_core::api`), and the helpers.
#[pyfunction]
fn client_methods() -> (Vec<&'static str>, Vec<&'static str>) {
    (waiaas_core::client::dispatch::agent_methods(), waiaas_core::client::dispatch::admin_methods())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Agent>()?;
    m.add_class::<Admin>()?;
    m.add_function(wrap_pyfunction!(owner_message, m)?)?;
    m.add_function(wrap_pyfunction!(client_methods, m)?)?;
    m.py().import("atexit")?.call_method1("register", (wrap_pyfunction!(_at_exit, m)?,))?;
    m.add("__version__", waiaas_core::VERSION)?;
    Ok(())
}
