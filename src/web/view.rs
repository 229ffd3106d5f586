//! The pages: Tera templates compiled into the binary (autoescaped: every
//! value is text, never markup) and the stylesheet.

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tera::{Context, Tera};

use super::store::{Role, User};

const TEMPLATES: [(&str, &str); 14] = [
    ("base.html", include_str!("templates/base.html")),
    ("message.html", include_str!("templates/message.html")),
    ("login.html", include_str!("templates/login.html")),
    (
        "submissions.html",
        include_str!("templates/submissions.html"),
    ),
    (
        "report_body.html",
        include_str!("templates/report_body.html"),
    ),
    ("submission.html", include_str!("templates/submission.html")),
    ("approve.html", include_str!("templates/approve.html")),
    ("upload.html", include_str!("templates/upload.html")),
    (
        "public_report.html",
        include_str!("templates/public_report.html"),
    ),
    ("pager.html", include_str!("templates/pager.html")),
    ("agenda.html", include_str!("templates/agenda.html")),
    ("projects.html", include_str!("templates/projects.html")),
    ("project.html", include_str!("templates/project.html")),
    ("recorded.html", include_str!("templates/recorded.html")),
];

pub const CSS: &str = include_str!("static/desk.css");

pub struct Views {
    tera: Tera,
}

impl Views {
    pub fn load() -> Result<Views, String> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES)
            .map_err(|e| format!("网页模板有误:{e}"))?;
        tera.autoescape_on(vec![".html"]);
        Ok(Views { tera })
    }

    /// A context with the page title and who is logged in.
    pub fn context(&self, title: &str, user: Option<&User>) -> Context {
        let mut ctx = Context::new();
        ctx.insert("title", title);
        ctx.insert("user", &user.map(|u| u.name.clone()));
        ctx.insert("role", &user.map(|u| u.role.as_str()));
        ctx.insert("can_act", &user.is_some_and(|u| u.role == Role::Clerk));
        ctx.insert("nav", "");
        ctx
    }

    pub fn render(&self, status: StatusCode, name: &str, ctx: &Context) -> Response {
        match self.tera.render(name, ctx) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("page {name}: {e:?}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "页面生成出错,请将此情况告知系统维护人员。",
                )
                    .into_response()
            }
        }
    }

    /// A page that says one thing (an error, a refusal, a result).
    pub fn message(&self, status: StatusCode, title: &str, message: &str) -> Response {
        self.message_for(status, title, message, None, None)
    }

    pub fn message_for(
        &self,
        status: StatusCode,
        title: &str,
        message: &str,
        user: Option<&User>,
        back: Option<&str>,
    ) -> Response {
        let mut ctx = self.context(title, user);
        ctx.insert("message", message);
        ctx.insert("back", &back);
        self.render(status, "message.html", &ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_template_compiles_and_escapes() {
        let views = Views::load().unwrap();
        let mut ctx = views.context("<t>", None);
        ctx.insert("message", "<script>x</script>");
        ctx.insert("back", &None::<String>);
        let html = views.tera.render("message.html", &ctx).unwrap();
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
    }
}
