//! `zwyun demo`: the bundled sample submissions through the real
//! drop-folder pass, in a folder of their own.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// The sample inbox, compiled in so the demo runs from any folder.
pub const SAMPLES: [(&str, &[u8]); 5] = [
    (
        "松江区企业服务综合平台-资源申请表.xlsx",
        include_bytes!("../../samples/inbox/松江区企业服务综合平台-资源申请表.xlsx"),
    ),
    (
        "街道网格化治理平台-资源申请表(勾选与单位写法).xlsx",
        include_bytes!("../../samples/inbox/街道网格化治理平台-资源申请表(勾选与单位写法).xlsx"),
    ),
    (
        "智慧停车管理系统-资源申请表(待修改).xlsx",
        include_bytes!("../../samples/inbox/智慧停车管理系统-资源申请表(待修改).xlsx"),
    ),
    (
        "松江区企业服务综合平台-资源变更申请表.xlsx",
        include_bytes!("../../samples/inbox/松江区企业服务综合平台-资源变更申请表.xlsx"),
    ),
    (
        "请查收附件.txt",
        include_bytes!("../../samples/inbox/请查收附件.txt"),
    ),
];

/// The approved 附件1 the sample change refers to.
pub const APPROVED_EXAMPLE: &[u8] = include_bytes!("../../samples/annex1-example.xlsx");

/// Drops the samples into `inbox`, dated a minute ago so they count as
/// arrived (no wait for the quiet period).
pub fn fill_inbox(inbox: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(inbox)?;
    let past = SystemTime::now() - Duration::from_secs(60);
    for (name, bytes) in SAMPLES {
        let path = inbox.join(name);
        std::fs::write(&path, bytes)?;
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(past)?;
    }
    Ok(())
}
