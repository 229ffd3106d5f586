//! The service grid of 附件2, 附件3 and the 开通情况表, laid out as the
//! seed prints it: (服务类型, 服务分项, left item, right item) by catalogue key.

/// One row of the grid: category, group, left item key, right item key.
pub struct GridRow {
    pub category: &'static str,
    pub group: &'static str,
    pub left: &'static str,
    pub right: Option<&'static str>,
}

const fn row(
    category: &'static str,
    group: &'static str,
    left: &'static str,
    right: Option<&'static str>,
) -> GridRow {
    GridRow {
        category,
        group,
        left,
        right,
    }
}

pub const SERVICE_GRID: [GridRow; 17] = [
    row(
        "存储服务",
        "系统盘",
        "system_disk_ssd",
        Some("system_disk_efficient"),
    ),
    row(
        "存储服务",
        "数据盘",
        "data_disk_ssd",
        Some("data_disk_efficient"),
    ),
    row("存储服务", "存储产品", "oss", None),
    row("存储服务", "备份方式", "snapshot", None),
    row("空间服务", "机房空间资源", "room_space", Some("rack")),
    row("网络资源", "网络资源", "slb", Some("ipv6")),
    row("网络资源", "网络资源", "eip", Some("bandwidth")),
    row("网络资源", "网络资源", "gatekeeper", None),
    row(
        "安全服务",
        "访问控制服务",
        "cloud_firewall",
        Some("situation_awareness"),
    ),
    row("安全服务", "入侵防御服务", "ips", Some("db_audit")),
    row("安全服务", "用户管理服务", "bastion", Some("vuln_scan")),
    row("安全服务", "身份认证服务", "sslvpn", Some("launch_scan")),
    row("安全服务", "VPN接入", "ipsecvpn", Some("waf")),
    row(
        "安全服务",
        "网络行为审计",
        "net_audit",
        Some("tamper_proof"),
    ),
    row("安全服务", "密码服务", "vhsm", Some("kms")),
    row("安全服务", "密码服务", "auth_gateway", Some("timestamp")),
    row("安全服务", "密码服务", "sign_verify", Some("e_seal")),
];

pub fn rows() -> impl Iterator<Item = &'static GridRow> {
    SERVICE_GRID.iter()
}

/// Every catalogue key the grid prints.
pub fn keys() -> impl Iterator<Item = &'static str> {
    rows().flat_map(|r| std::iter::once(r.left).chain(r.right))
}

/// How many rows of 其他服务项 the 开通情况表 prints at least.
pub const OTHER_SERVICE_ROWS: usize = 4;
