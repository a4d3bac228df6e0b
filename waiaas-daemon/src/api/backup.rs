//! Encrypted backups (masterAuth): `POST /v1/admin/backup` writes one into
//! `<data>/backups` in upstream's `.waiaas-backup` format, `GET /v1/admin/backups` lists
//! them from their plaintext metadata. Restoring is offline (`waiaas restore`, daemon
//! stopped): see `waiaas_core::backup::restore_backup`.

use super::extract::{ApiResult, Master};
use super::AppState;
use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::backup::{BackupInfo, BackupList};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_backup)).routes(routes!(list_backups))
}

/// Create an encrypted backup.
///
/// The database (a consistent snapshot), `config.toml` and every key file, encrypted with
/// the master password (Argon2id + AES-256-GCM) into
/// `<data>/backups/backup-<time>.waiaas-backup`, in upstream's format.
#[utoipa::path(post, path = "/v1/admin/backup", tag = "Admin", operation_id = "createBackup", security(("masterAuth" = [])),
    responses((status = 200, description = "Backup written", body = BackupInfo)))]
async fn create_backup(State(s): State<AppState>, _m: Master) -> ApiResult<Json<BackupInfo>> {
    Ok(Json(s.engine.create_backup().await?))
}

/// List the encrypted backups.
///
/// The backups in `<data>/backups`, newest first, read from their plaintext metadata
/// (nothing is decrypted), with `[backup] retention_count`.
#[utoipa::path(get, path = "/v1/admin/backups", tag = "Admin", operation_id = "listBackups", security(("masterAuth" = [])),
    responses((status = 200, description = "Backups", body = BackupList)))]
async fn list_backups(State(s): State<AppState>, _m: Master) -> ApiResult<Json<BackupList>> {
    Ok(Json(s.engine.backup_list().await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::Value;
    use tower::ServiceExt;

    async fn call(app: &axum::Router, method: &str, path: &str, pw: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(pw) = pw {
            req = req.header("x-master-password", pw);
        }
        let res = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn create_and_list_need_the_master_password_and_use_upstream_fields() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("waiaas-backup-routes-{}-{nanos}", std::process::id()));
        struct Cleanup(std::path::PathBuf);
        impl Drop for Cleanup {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let _cleanup = Cleanup(dir.clone());
        let pw = "route-test-password";
        let engine = waiaas_core::Engine::open(&dir, waiaas_core::config::Config::default(), pw).await.unwrap();
        let state = AppState::new(engine, std::sync::Arc::new(tokio::sync::Notify::new()));
        let app = routes().split_for_parts().0.with_state(state);

        for bad in [None, Some("wrong-password")] {
            let (st, body) = call(&app, "POST", "/v1/admin/backup", bad).await;
            assert_eq!(st, StatusCode::UNAUTHORIZED);
            assert_eq!(body["code"], "INVALID_MASTER_PASSWORD");
            assert_eq!(call(&app, "GET", "/v1/admin/backups", bad).await.0, StatusCode::UNAUTHORIZED);
        }
        let (st, info) = call(&app, "POST", "/v1/admin/backup", Some(pw)).await;
        assert_eq!(st, StatusCode::OK, "{info}");
        for k in ["path", "filename", "size", "created_at", "daemon_version", "schema_version", "file_count"] {
            assert!(!info[k].is_null(), "{k} in {info}");
        }
        assert!(std::path::Path::new(info["path"].as_str().unwrap()).is_file());
        let (st, list) = call(&app, "GET", "/v1/admin/backups", Some(pw)).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(list["total"], 1);
        assert_eq!(list["retention_count"], 7);
        assert_eq!(list["backups"][0], info);
    }
}
