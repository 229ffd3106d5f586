// TEMPORARY local compile aid, replaced by the render branch; never committed.
use crate::model::{Application, Config};
use crate::schema::Schemas;
use std::path::Path;
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub struct RenderError;
pub struct Renderer;
impl Renderer {
    pub fn load(_t: Option<&Path>, _s: &Schemas) -> Result<Renderer, RenderError> {
        Ok(Renderer)
    }
    pub fn test_agreement(&self, _a: &Application, _m: u32) -> Result<Vec<u8>, RenderError> {
        Ok(b"docx".to_vec())
    }
}
pub fn opening_table(_a: &Application, _c: &Config, _s: &Schemas) -> Result<Vec<u8>, RenderError> {
    Ok(b"xlsx".to_vec())
}
pub fn output_name(a: &Application, doc: &str, ext: &str) -> String {
    format!(
        "{}-{doc}.{ext}",
        a.header.project_code.clone().unwrap_or_default()
    )
}
