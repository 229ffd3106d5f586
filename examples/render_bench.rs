//! Times rendering: `cargo run --release --example render_bench [N]`
//! renders the sample 附件1 N times as test agreement, formal agreement and
//! 开通情况表, and prints the time per document.

use std::path::Path;
use std::time::Instant;

use zwyun::ledger::Projects;
use zwyun::render::{opening_table, Renderer};
use zwyun::schema::Schemas;
use zwyun::validate::{check_path, Context};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let schemas = Schemas::load(Some(Path::new("schemas")))?;
    let projects = Projects::default();
    let ctx = Context {
        schemas: &schemas,
        projects: &projects,
        parties: None,
    };
    let outcome = check_path(Path::new("samples/annex1-example.xlsx"), &ctx);
    let app = outcome.application().ok_or("sample is not a valid 附件1")?;
    let start = Instant::now();
    let renderer = Renderer::load(Some(Path::new("templates")), &schemas)?;
    println!("模板解析:{:.2} ms", start.elapsed().as_secs_f64() * 1e3);
    let time = |label: &str, f: &dyn Fn() -> Result<Vec<u8>, zwyun::render::RenderError>| {
        let start = Instant::now();
        let mut bytes = 0;
        for _ in 0..n {
            bytes += f().map(|b| b.len()).unwrap_or(0);
        }
        let per = start.elapsed().as_secs_f64() * 1e3 / f64::from(n);
        println!("{label}:每份 {per:.3} ms({} 字节)", bytes / n as usize);
    };
    time("测试协议 .docx", &|| renderer.test_agreement(app, 2));
    time("正式协议 .docx", &|| {
        renderer.formal_agreement(app, &app.config)
    });
    time("开通情况表 .xlsx", &|| {
        opening_table(app, &app.config, &schemas)
    });
    Ok(())
}
