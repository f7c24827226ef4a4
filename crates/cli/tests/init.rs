//! `lightrag-pg init` on a database an older LightRAG release created:
//! `--dry-run` lists the upgrade steps and writes nothing, `init` applies them.
//! (`cargo xtask interop` does this with the real lightrag-hku 1.2.6, 1.3.9 and
//! 1.4.9.)

mod common;

use lightrag_pg_test_support::fresh::FreshDb;

/// Doc status as lightrag-hku 1.4.9 created it: no `content_hash` column, which
/// 1.5.7's partial index needs.
const DOC_STATUS_1_4_9: &str = "CREATE TABLE LIGHTRAG_DOC_STATUS (workspace varchar(255) NOT NULL, \
     id varchar(255) NOT NULL, content_summary varchar(255) NULL, content_length int4 NULL, chunks_count int4 NULL, \
     status varchar(64) NULL, file_path TEXT NULL, chunks_list JSONB NULL DEFAULT '[]'::jsonb, \
     track_id varchar(255) NULL, metadata JSONB NULL DEFAULT '{}'::jsonb, error_msg TEXT NULL, \
     created_at timestamp(0) DEFAULT CURRENT_TIMESTAMP NULL, updated_at timestamp(0) DEFAULT CURRENT_TIMESTAMP NULL, \
     CONSTRAINT LIGHTRAG_DOC_STATUS_PK PRIMARY KEY (workspace, id))";

async fn has_content_hash(db: &FreshDb) -> bool {
    db.admin_client()
        .await
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'lightrag_doc_status' \
             AND column_name = 'content_hash')",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn init_dry_run_lists_the_upgrade_of_a_lightrag_1_4_table_and_init_applies_it() {
    let db = FreshDb::create("cli_upgrade").await;
    db.admin_client().await.batch_execute(DOC_STATUS_1_4_9).await.unwrap();
    let config = db.config();

    let out = common::cli(&config, "default").args(["init", "--dry-run", "--json"]).output().expect("run lightrag-pg");
    assert!(out.status.success(), "init --dry-run failed: {}", String::from_utf8_lossy(&out.stderr));
    let steps: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON array");
    assert_eq!(steps[0]["name"], "columns:lightrag_doc_status", "{steps}");
    assert_eq!(
        steps[0]["statements"][0],
        "ALTER TABLE \"lightrag_doc_status\" ADD COLUMN IF NOT EXISTS \"content_hash\" text"
    );
    assert_eq!(steps.as_array().map(Vec::len), Some(1), "{steps}");
    assert!(!has_content_hash(&db).await, "the dry run wrote nothing");

    let out = common::cli(&config, "default")
        .args(["init", "--graph", "table", "--embedding-dim", "8", "--vector-index", "none"])
        .output()
        .expect("run lightrag-pg");
    assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(has_content_hash(&db).await);
    let out = common::cli(&config, "default").args(["init", "--dry-run", "--json"]).output().expect("run lightrag-pg");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]", "nothing left to upgrade");
}
