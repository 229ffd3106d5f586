//! The parties of the agreements that staff keep in `parties.yaml`: the
//! district's 科技创新服务中心 (甲方 of 附件3) and the cloud providers.

use serde::{Deserialize, Serialize};

use super::RenderError;
use crate::names::name_key;
use crate::schema::{parse_yaml, ConfigError};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct District {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub bank: String,
    #[serde(default)]
    pub account: String,
}

impl Provider {
    /// Sample data: any field marked 示例, or an account of zeros only.
    pub fn is_sample(&self) -> bool {
        let fields = [
            &self.name,
            &self.address,
            &self.contact,
            &self.bank,
            &self.account,
        ];
        let zeros = !self.account.trim().is_empty()
            && self.account.chars().all(|c| c == '0' || c.is_whitespace());
        zeros || fields.iter().any(|f| f.contains("示例"))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parties {
    pub district: District,
    pub providers: Vec<Provider>,
}

impl Parties {
    pub fn parse(file: &str, text: &str) -> Result<Parties, ConfigError> {
        let parties: Parties = parse_yaml(file, text)?;
        if parties.providers.is_empty() {
            return Err(ConfigError::new(
                file,
                "providers 中至少要有一个政务云服务商",
            ));
        }
        Ok(parties)
    }

    /// A warning when parties.yaml still holds the shipped sample data
    /// (names marked 示例, an all-zero account), naming what to replace.
    pub fn sample_warning(&self) -> Option<String> {
        let samples: Vec<String> = self
            .providers
            .iter()
            .filter(|p| p.is_sample())
            .map(|p| format!("“{}”", p.name))
            .collect();
        (!samples.is_empty()).then(|| sample_message(&samples))
    }

    /// The sample-data warning for an agreement with the provider a
    /// submission names, when (and only when) that provider is sample data.
    pub fn sample_warning_for(&self, provider: &str) -> Option<String> {
        let p = self.provider(provider).ok()?;
        p.is_sample()
            .then(|| sample_message(&[format!("“{}”", p.name)]))
    }

    /// The provider a submission names; unknown names list the known ones.
    pub fn provider(&self, name: &str) -> Result<&Provider, RenderError> {
        let wanted = name_key(name);
        self.providers
            .iter()
            .find(|p| name_key(&p.name) == wanted)
            .ok_or_else(|| RenderError::UnknownProvider {
                name: name.to_string(),
                known: self
                    .providers
                    .iter()
                    .map(|p| format!("“{}”", p.name))
                    .collect::<Vec<_>>()
                    .join("、"),
            })
    }
}

fn sample_message(names: &[String]) -> String {
    format!(
        "parties.yaml 中的服务商 {} 仍是示例数据(如联系人、开户银行、帐号),据此生成的协议不能签署;请先在 parties.yaml 中替换为服务商的真实信息。",
        names.join("、")
    )
}
