//! `zwyun calendar`: which years the working-day calendar covers, and an
//! export of the built-in rule files and templates for editing (a copied
//! binary has no `schemas/` folder of its own).

use std::path::Path;

use super::{io_error, EXIT_OK};
use crate::datafiles::{Embedded, SCHEMAS, TEMPLATES};
use crate::settle::calendar::Calendar;

pub fn run(export: Option<&Path>, schemas: Option<&Path>) -> Result<u8, String> {
    let calendar = Calendar::load(schemas).map_err(|e| e.to_string())?;
    let years: Vec<String> = calendar.years().map(|y| y.to_string()).collect();
    crate::outln!(
        "工作日历 {} 覆盖的年份:{}",
        calendar.file(),
        years.join("、")
    );
    crate::outln!(
        "其他年份的期限暂按周六、周日休息计算,并标为“暂定”;国务院办公厅公布新一年放假安排后,请在 calendar.yaml 中加入该年的放假和调休日期,并把该年加入 years。"
    );
    let Some(dir) = export else {
        crate::outln!("导出内置日历、规则文件与协议模板以便修改:zwyun calendar --export .");
        return Ok(EXIT_OK);
    };
    export_files(&dir.join("schemas"), SCHEMAS)?;
    export_files(&dir.join("templates"), TEMPLATES)?;
    crate::outln!(
        "zwyun 在当前目录下有 schemas/、templates/ 时自动使用它们;在其他目录运行时请用 --schemas {} --templates {} 指定。",
        dir.join("schemas").display(),
        dir.join("templates").display()
    );
    Ok(EXIT_OK)
}

/// Writes each built-in file into `dir`, keeping files already there.
fn export_files(dir: &Path, files: Embedded) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
    for (name, bytes) in files {
        let path = dir.join(name);
        if path.exists() {
            crate::outln!("已存在,未覆盖:{}", path.display());
            continue;
        }
        crate::names::write_atomic(&path, bytes).map_err(|e| io_error(&path, &e))?;
        crate::outln!("已导出:{}", path.display());
    }
    Ok(())
}
