//! PDF conversion with LibreOffice (headless, private profile, Chinese
//! font aliases).

use std::path::{Path, PathBuf};
use std::process::Command;

pub const NO_SOFFICE: &str = "未找到 LibreOffice(soffice),无法转换为 PDF;请安装 LibreOffice(如 apt-get install --no-install-recommends libreoffice-writer libreoffice-calc fonts-noto-cjk),或去掉 --pdf";

/// The LibreOffice program on PATH, if any.
pub fn soffice() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["soffice", "libreoffice", "soffice.exe"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// The system's fontconfig plus the Windows Chinese font names of the
/// templates mapped to the Noto CJK fonts, so that a machine without 宋体
/// still prints serif text rather than whatever comes first.
const FONT_ALIASES: &str = r#"<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias binding="same"><family>宋体</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias binding="same"><family>仿宋</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias binding="same"><family>黑体</family><prefer><family>Noto Sans CJK SC</family></prefer></alias>
</fontconfig>
"#;

/// Converts `file` to PDF in `out_dir` with a private LibreOffice profile
/// (so parallel conversions do not lock each other out).
pub fn to_pdf(file: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let program = soffice().ok_or(NO_SOFFICE)?;
    let profile = tempfile::tempdir()
        .map_err(|e| format!("无法创建临时目录:{}", crate::oserror::reason(&e)))?;
    let profile_url = format!("-env:UserInstallation=file://{}", profile.path().display());
    let fonts = profile.path().join("fonts.conf");
    std::fs::write(&fonts, FONT_ALIASES).map_err(|e| crate::oserror::at(&fonts, &e))?;
    let output = Command::new(&program)
        .env("FONTCONFIG_FILE", &fonts)
        .arg(profile_url)
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(out_dir)
        .arg(file)
        .output()
        .map_err(|e| format!("无法运行 LibreOffice:{}", crate::oserror::at(&program, &e)))?;
    let pdf = out_dir.join(file.with_extension("pdf").file_name().unwrap_or_default());
    if !output.status.success() || !pdf.is_file() {
        return Err(format!(
            "LibreOffice 未能将 {} 转换为 PDF:{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(pdf)
}
