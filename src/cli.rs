//! Command line: the clap definitions, turned into plain options and
//! handed to the command layer (`crate::command`), which maps each outcome
//! to an exit code (0 ok, 1 problems found, 2 usage or configuration error).

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::blank;
use crate::command::intake::IntakeOptions;
use crate::command::render::{Doc, Request};
use crate::command::{self, fail, Format, Globals, EXIT_OK};
use crate::model::FormKind;
use crate::schema::Schemas;

#[derive(Debug, Parser)]
#[command(
    name = "zwyun",
    version,
    about = "松江区市级政务云:申请表校验、协议生成、收件处理与年度结算"
)]
pub struct Args {
    /// `--ledger` before the command name (as in `zwyun --ledger x.db
    /// status`); each command that uses the ledger lists it in its help.
    #[arg(long, hide = true, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// `--schemas` before the command name.
    #[arg(long, hide = true, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// `--templates` before the command name.
    #[arg(long, hide = true, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// 输出详细日志(-v 信息,-vv 调试)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// `--ledger`, for the commands that read or write the ledger.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LedgerFile {
    /// 账本(SQLite)文件(默认 zwyun.db;也可用环境变量 ZWYUN_LEDGER 指定)
    #[arg(id = "ledger", long = "ledger", value_name = "FILE")]
    path: Option<PathBuf>,
}

/// `--schemas`, for the commands that use the rule files.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SchemasDir {
    /// 校验规则目录(默认 ./schemas,不存在时用内置规则;也可用环境变量 ZWYUN_SCHEMAS 指定)
    #[arg(id = "schemas", long = "schemas", value_name = "DIR")]
    path: Option<PathBuf>,
}

/// `--templates`, for the commands that render agreements.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TemplatesDir {
    /// 协议模板目录(默认 ./templates,不存在时用内置模板;也可用环境变量 ZWYUN_TEMPLATES 指定)
    #[arg(id = "templates", long = "templates", value_name = "DIR")]
    path: Option<PathBuf>,
}

/// Who records a change of the ledger, on which day, and how it prints.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordArgs {
    #[command(flatten)]
    clerk: ClerkArgs,
    /// 输出格式:text 文字,json 一行 JSON
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

impl RecordArgs {
    fn clerk(&self) -> command::life::Clerk {
        self.clerk.clerk()
    }
}

/// Who records a change of the ledger, and on which day.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClerkArgs {
    /// 登记人(写入审计记录;默认为操作系统用户名)
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    /// 例外登记:日期或顺序不合细则时仍予登记,并在审计记录中保留此原因
    #[arg(long = "override", value_name = "REASON")]
    override_reason: Option<String>,
    /// 以此日为“今天”(默认今天):晚于它 30 天以上的日期会有警告
    #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
    on: Option<chrono::NaiveDate>,
}

impl ClerkArgs {
    fn clerk(&self) -> command::life::Clerk {
        command::life::Clerk {
            by: self.by.clone(),
            override_reason: self.override_reason.clone(),
            today: self.on.unwrap_or_else(command::today),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeliveryKind {
    Test,
    Formal,
    Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntryKind {
    Quota,
    Test,
    Formal,
}

fn parse_state(s: &str) -> Result<crate::ops::State, String> {
    crate::ops::State::parse(s).ok_or_else(|| {
        format!(
            "状态应为 {} 之一",
            crate::ops::STATES
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join("、")
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlankForm {
    Annex1,
    Annex4,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 校验提交的附件1/附件4 工作簿,逐单元格报告问题
    Validate {
        /// 要校验的工作簿(.xlsx/.xls,可多个)
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// 输出格式:text 文字,json 每个文件一行 JSON
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// 另为每个未通过的文件在此目录写出给单位的问题清单(.xlsx 与 .json)
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
        #[command(flatten)]
        templates: TemplatesDir,
    },
    /// 显示从附件1/附件4 中读取到的内容(JSON 键为 schemas/ 中的 key),以及发现的问题
    Read {
        /// 要读取的工作簿(.xlsx/.xls,可多个)
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// 输出格式:text 文字摘要,json 每个文件一行 JSON(含 data)
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
        #[command(flatten)]
        templates: TemplatesDir,
    },
    /// 将校验通过的附件1 登记为项目的批准配额,或将附件4 登记为已批准的变更
    Approve {
        /// 校验通过的附件1 或附件4 工作簿,或 zwyun status 列出的提交编号(如 83596584d644)
        file: PathBuf,
        /// 按提交编号批准时,原件的归档目录(默认当前目录下的 archive/,与 process 的默认相同)
        #[arg(long, value_name = "DIR")]
        archive: Option<PathBuf>,
        /// 以本申请表替换项目已有的配额(尚未签订协议时)
        #[arg(long)]
        replace: bool,
        /// 附件4 变更的生效日期(默认今天),如 2026-09-30 或 2026年9月30日
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        effective: Option<chrono::NaiveDate>,
        #[command(flatten)]
        record: ClerkArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
        #[command(flatten)]
        templates: TemplatesDir,
    },
    /// 处理收件箱中的全部提交(一次),输出回执、协议草稿或问题清单
    Process {
        /// 收件目录(单位提交的工作簿放在这里)
        inbox: PathBuf,
        /// 输出目录(回执、协议草稿、问题清单)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        intake: IntakeArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
        #[command(flatten)]
        templates: TemplatesDir,
    },
    /// 持续监视收件箱,新文件到达即处理
    Watch {
        /// 收件目录(单位提交的工作簿放在这里)
        inbox: PathBuf,
        /// 输出目录(回执、协议草稿、问题清单)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// 每隔若干秒扫描一次(网络共享目录收不到文件事件时使用);默认不轮询,靠文件事件唤醒
        #[arg(long, value_name = "SECS")]
        poll: Option<f64>,
        #[command(flatten)]
        intake: IntakeArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
        #[command(flatten)]
        templates: TemplatesDir,
    },
    /// 演示:把内置样例放入 DIR/inbox,按 process 的同一流程处理到 DIR/out
    Demo {
        /// 演示目录(其下建 inbox、out、archive)
        #[arg(long, default_value = "zwyun-demo")]
        dir: PathBuf,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
        #[command(flatten)]
        templates: TemplatesDir,
    },
    /// 性能基准:生成 N 份申请表,测量 process 吞吐量、峰值内存、单文件校验用时与恶意输入
    Bench {
        /// 生成的申请表份数
        #[arg(long, default_value_t = 200)]
        n: usize,
        /// 基准工作目录
        #[arg(long, default_value = "zwyun-bench")]
        dir: PathBuf,
        /// 恶意输入样本目录(含 zip-bomb.xlsx;默认 tests/fixtures)
        #[arg(long, default_value = "tests/fixtures")]
        fixtures: PathBuf,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 列出最近处理的提交
    Status {
        /// 最多列出几条
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// 输出格式:text 文字,json 每条一行 JSON
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        ledger: LedgerFile,
    },
    /// 项目登记簿:每个项目的编号、单位、名称、服务商、归属、状态与下一到期事项
    Projects {
        /// 只列编号、单位、名称或服务商中含此文字的项目
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// 只列此状态的项目:已批准配额、测试中、测试期满、正式服务、已终止、已撤销
        #[arg(long, value_parser = parse_state, value_name = "STATE")]
        state: Option<crate::ops::State>,
        /// 以此日的状态列出(默认今天)
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        on: Option<chrono::NaiveDate>,
        /// 输出格式:text 文字,json 每个项目一行 JSON
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 一个项目的全貌:配额、某日在用的配置、协议、变更、发放、平台录入、提交与全部历史
    Project {
        /// 项目:项目编号、项目名称(唯一时)或“申请单位/项目名称”
        project: String,
        /// 显示此日的状态与在用配置(默认今天);此后生效的变更列为“已排定”
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        on: Option<chrono::NaiveDate>,
        /// 输出格式:text 文字,json 一行 JSON
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        ledger: LedgerFile,
    },
    /// 待办:按细则到期的发放、测试期、平台录入、待批准与年度结算,逾期的在前
    Agenda {
        /// 以此日为今天(默认今天)
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        on: Option<chrono::NaiveDate>,
        /// 列出此后若干天内到期的事项(逾期的总是列出)
        #[arg(long, default_value_t = 14, value_name = "N")]
        days: u32,
        /// 输出格式:text 文字,json 每项一行 JSON
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 由校验通过的附件1(或账本中的项目)生成协议文件
    Render {
        #[command(subcommand)]
        doc: RenderDoc,
    },
    /// 生成空白表格(带下拉选项)
    Blank {
        /// 表格:annex1 申请表,annex4 变更申请表
        #[arg(value_enum)]
        form: BlankForm,
        /// 输出文件(.xlsx)
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 计算协议签订后若干个工作日的到期日(按国家法定节假日与调休)
    Deadline {
        /// 签订日期,如 2026-09-30、2026/09/30 或 2026年9月30日
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        signed: chrono::NaiveDate,
        /// 工作日数(默认取 policy.yaml 的 delivery_working_days,即 5)
        #[arg(long)]
        days: Option<u32>,
        /// 输出格式:text 文字,json 一行 JSON
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 收件台:网页服务,同时运行收件目录(与 --mail 时的邮件)处理
    Serve {
        /// 监听地址与端口(只在本机:127.0.0.1:8080;对局域网开放:0.0.0.0:8080)
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
        listen: std::net::SocketAddr,
        /// 收件目录(默认 ./inbox,不存在时新建)
        #[arg(long, value_name = "DIR")]
        inbox: Option<PathBuf>,
        /// 输出目录(默认 ./out,不存在时新建)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// 每隔若干秒扫描一次收件目录(网络共享目录收不到文件事件时使用)
        #[arg(long, value_name = "SECS")]
        poll: Option<f64>,
        #[command(flatten)]
        intake: IntakeArgs,
        /// 开放单位上传页 /u:单位上传申请表即看到校验结果(凭只属于该次提交的链接)
        #[arg(long)]
        public_upload: bool,
        /// 单位上传页每个地址每小时最多上传几次
        #[arg(long, default_value_t = 30, value_name = "N")]
        public_rate: u32,
        /// HTTPS 证书链(PEM);与 --tls-key 一起使用
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// HTTPS 私钥(PEM)
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// 由反向代理提供 HTTPS 时,登录 Cookie 也加 Secure 标记
        #[arg(long)]
        secure_cookies: bool,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
        #[command(flatten)]
        templates: TemplatesDir,
    },
    /// 收件台账户:添加、修改密码、停用、列出
    #[command(subcommand)]
    User(UserCommand),
    /// 账本:登记协议、发放、平台录入、终止、项目编号;撤销与更正;审计记录
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// 邮件:检查邮件服务器配置,发送暂存的回复
    #[command(subcommand)]
    Mail(MailCommand),
    /// 工作日历:列出覆盖的年份;--export 导出内置日历、其他规则文件与协议模板以便修改
    Calendar {
        /// 导出到此目录下的 schemas/ 与 templates/(已有文件不覆盖)
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 按附件5 松江区云服务商绩效考核表计算考核得分与结算扣减比例
    Assess {
        /// 考核数据(YAML:provider、year、A3、C1、E1、E4、J2、H1)
        file: PathBuf,
        /// 输出格式:text 文字,json 一行 JSON
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// 另写出填好的附件5 考核表(.xlsx)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 计量一个服务年度(上一年7月1日至当年6月30日)的正式资源,生成结算项目工作簿草稿
    Settle {
        /// 服务年度,按其结束的年份称呼,写四位数字:2026 即 2026年度,2025-07-01 至 2026-06-30
        #[arg(long, value_parser = command::parse_year, value_name = "YEAR")]
        year: i32,
        /// 结算日(默认今天);服务年度在此日尚未结束时,工作簿标为“预估”
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        on: Option<chrono::NaiveDate>,
        /// 考核结果:YAML 文件或存放它们的目录(可多个)
        #[arg(long, num_args = 1.., value_name = "FILE|DIR")]
        assessments: Vec<PathBuf>,
        /// 价格表(默认 schemas/prices.yaml)
        #[arg(long, value_name = "FILE")]
        prices: Option<PathBuf>,
        /// 输出工作簿(默认 松江区电子政务云资源结算项目-2026年度.xlsx 之类)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// 登记已签订的测试协议(附件2),测试期 1~3 个月
    TestSigned {
        /// 项目:项目编号、项目名称(唯一时)或“申请单位/项目名称”
        #[arg(long)]
        project: String,
        /// 签订日期,如 2026-09-30 或 2026年9月30日
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        date: chrono::NaiveDate,
        /// 测试期限(月)
        #[arg(long)]
        months: u32,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 登记已签订的正式协议(附件3),须在测试期满后
    FormalSigned {
        /// 项目:项目编号、项目名称(唯一时)或“申请单位/项目名称”
        #[arg(long)]
        project: String,
        /// 签订日期(起租日),如 2026-09-30 或 2026年9月30日
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        date: chrono::NaiveDate,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 登记服务商发放资源的日期(测试、正式或变更),并说明是否按期(5 个工作日内)
    Delivered {
        /// 项目:项目编号、项目名称(唯一时)或“申请单位/项目名称”
        #[arg(long)]
        project: String,
        /// 发放完成日期
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        date: chrono::NaiveDate,
        /// 发放的是:test 测试资源,formal 正式资源,change 变更
        #[arg(long, value_enum)]
        kind: DeliveryKind,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 登记录入市级政务云管理平台的日期(配额、测试工单或正式工单)
    Entered {
        /// 项目:项目编号、项目名称(唯一时)或“申请单位/项目名称”
        #[arg(long)]
        project: String,
        /// 录入的是:quota 配额,test 测试工单,formal 正式工单
        #[arg(long, value_enum)]
        kind: EntryKind,
        /// 录入日期
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        date: chrono::NaiveDate,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 登记项目终止(中心回收资源等):资源计量至终止日前一日
    Terminate {
        /// 项目:项目编号、项目名称(唯一时)或“申请单位/项目名称”
        #[arg(long)]
        project: String,
        /// 终止日期
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        date: chrono::NaiveDate,
        /// 终止原因
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 为项目登记(或改正)项目编号
    SetCode {
        /// 项目:项目编号、项目名称(唯一时)或“申请单位/项目名称”
        #[arg(long)]
        project: String,
        /// 新的项目编号
        #[arg(long)]
        code: String,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 撤销一条记录(批准、协议、变更、发放、录入或终止);原记录保留在历史中
    Revoke {
        /// 记录编号(zwyun ledger log 列出)
        event: i64,
        /// 撤销原因
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 更正一条记录的日期;原记录与更正均保留在历史中
    Correct {
        /// 记录编号(zwyun ledger log 列出)
        event: i64,
        /// 正确的日期
        #[arg(long, value_parser = command::parse_date, value_name = "DATE")]
        date: chrono::NaiveDate,
        /// 更正原因
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        ledger: LedgerFile,
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// 审计记录:账本的每一次改动(何时、何人、何命令、来源文件与原因)
    Log {
        /// 只列此项目的记录
        #[arg(long)]
        project: Option<String>,
        /// 输出格式:text 文字,json 每条一行 JSON
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        ledger: LedgerFile,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// 添加收件台用户;密码在提示后输入(不回显),或从标准输入读一行
    Add {
        /// 用户名(登录名)
        name: String,
        /// 角色:经办(可上传、批准)或 只读(只能查看)
        #[arg(long, default_value = "经办")]
        role: String,
        #[command(flatten)]
        ledger: LedgerFile,
    },
    /// 修改用户密码(同时解除锁定、恢复停用的账户)
    Passwd {
        name: String,
        #[command(flatten)]
        ledger: LedgerFile,
    },
    /// 停用用户(其登录立即失效)
    Disable {
        name: String,
        #[command(flatten)]
        ledger: LedgerFile,
    },
    /// 列出用户
    List {
        #[command(flatten)]
        ledger: LedgerFile,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// 连接 IMAP 与 SMTP 服务器,逐项说明哪些可用、哪些不可用
    Check {
        /// 邮件配置(YAML)
        #[arg(long, env = "ZWYUN_MAIL", hide_env_values = true, value_name = "FILE")]
        mail: PathBuf,
    },
    /// 发送暂存待审(reply: hold)、待重试与发送失败的全部回复
    Send {
        /// 邮件配置(YAML)
        #[arg(long, env = "ZWYUN_MAIL", hide_env_values = true, value_name = "FILE")]
        mail: PathBuf,
        #[command(flatten)]
        ledger: LedgerFile,
    },
}

#[derive(Debug, clap::Args)]
pub struct IntakeArgs {
    /// 原件归档目录(默认与输出目录同级的 archive/)
    #[arg(long, value_name = "DIR")]
    archive: Option<PathBuf>,
    /// 文件大小与修改时间保持不变多少秒后才处理
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    stable: f64,
    /// 测试协议草稿的测试期限(月,1~3;默认按 policy.yaml)
    #[arg(long, value_name = "MONTHS")]
    months: Option<u32>,
    /// 邮件配置(YAML):从 IMAP 邮箱收取提交,经 SMTP 回复
    #[arg(long, env = "ZWYUN_MAIL", hide_env_values = true, value_name = "FILE")]
    mail: Option<PathBuf>,
    /// watch 时每隔若干秒收取一次邮件
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    mail_poll: f64,
}

impl IntakeArgs {
    fn options(&self) -> IntakeOptions {
        IntakeOptions {
            archive: self.archive.clone(),
            stable: self.stable,
            months: self.months,
            mail: self.mail.clone(),
            mail_poll: self.mail_poll,
        }
    }
}

/// Where a document's data comes from and where it goes.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// 校验通过的附件1 申请表(.xlsx/.xls)
    #[arg(required_unless_present = "project", conflicts_with = "project")]
    pub file: Option<PathBuf>,
    /// 按账本中该项目当前的资源生成,而不读申请表:项目编号、项目名称(唯一时)或“申请单位/项目名称”
    #[arg(long)]
    pub project: Option<String>,
    /// 输出目录
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// 另用 LibreOffice 转换为 PDF
    #[arg(long)]
    pub pdf: bool,
    #[command(flatten)]
    pub ledger: LedgerFile,
    #[command(flatten)]
    pub schemas: SchemasDir,
}

#[derive(Debug, clap::Subcommand)]
pub enum RenderDoc {
    /// 附件2 松江区市政务云测试资源服务使用意向协议(.docx)
    TestAgreement {
        #[command(flatten)]
        args: RenderArgs,
        /// 测试期限(月,1~3;默认按 policy.yaml 的 test_months.default)
        #[arg(long, value_name = "MONTHS")]
        months: Option<u32>,
        #[command(flatten)]
        templates: TemplatesDir,
    },
    /// 附件3 松江区市政务云资源服务使用正式协议(.docx,附开通情况表)
    FormalAgreement {
        #[command(flatten)]
        args: RenderArgs,
        #[command(flatten)]
        templates: TemplatesDir,
    },
    /// 政务云资源开通情况表(.xlsx)
    OpeningTable {
        #[command(flatten)]
        args: RenderArgs,
    },
}

impl RenderDoc {
    fn request(self) -> Request {
        let (args, doc) = match self {
            RenderDoc::TestAgreement { args, months, .. } => (args, Doc::TestAgreement { months }),
            RenderDoc::FormalAgreement { args, .. } => (args, Doc::FormalAgreement),
            RenderDoc::OpeningTable { args } => (args, Doc::OpeningTable),
        };
        Request {
            doc,
            file: args.file,
            project: args.project,
            out: args.out,
            pdf: args.pdf,
        }
    }
}

/// The `--ledger`, `--schemas` and `--templates` of a command: `None`
/// where the command has no such option, `Some(None)` where it has one
/// but it was not given after the command name.
#[derive(Default)]
struct Given {
    ledger: Option<Option<PathBuf>>,
    schemas: Option<Option<PathBuf>>,
    templates: Option<Option<PathBuf>>,
}

impl Given {
    fn new(l: Option<&LedgerFile>, s: Option<&SchemasDir>, t: Option<&TemplatesDir>) -> Self {
        Given {
            ledger: l.map(|l| l.path.clone()),
            schemas: s.map(|s| s.path.clone()),
            templates: t.map(|t| t.path.clone()),
        }
    }
}

impl Command {
    /// The paths given to this command; each command lists in its help
    /// only the options it uses.
    fn given(&self) -> Given {
        use Command as C;
        match self {
            C::Validate {
                ledger,
                schemas,
                templates,
                ..
            }
            | C::Read {
                ledger,
                schemas,
                templates,
                ..
            }
            | C::Approve {
                ledger,
                schemas,
                templates,
                ..
            } => Given::new(Some(ledger), Some(schemas), Some(templates)),
            C::Settle {
                ledger, schemas, ..
            } => Given::new(Some(ledger), Some(schemas), None),
            C::Process {
                ledger,
                schemas,
                templates,
                ..
            }
            | C::Watch {
                ledger,
                schemas,
                templates,
                ..
            }
            | C::Demo {
                ledger,
                schemas,
                templates,
                ..
            }
            | C::Serve {
                ledger,
                schemas,
                templates,
                ..
            } => Given::new(Some(ledger), Some(schemas), Some(templates)),
            C::User(
                UserCommand::Add { ledger, .. }
                | UserCommand::Passwd { ledger, .. }
                | UserCommand::Disable { ledger, .. }
                | UserCommand::List { ledger },
            ) => Given::new(Some(ledger), None, None),
            C::Bench { schemas, .. }
            | C::Blank { schemas, .. }
            | C::Deadline { schemas, .. }
            | C::Calendar { schemas, .. } => Given::new(None, Some(schemas), None),
            C::Status { ledger, .. } | C::Project { ledger, .. } => {
                Given::new(Some(ledger), None, None)
            }
            C::Projects {
                ledger, schemas, ..
            }
            | C::Agenda {
                ledger, schemas, ..
            } => Given::new(Some(ledger), Some(schemas), None),
            C::Render { doc } => doc.given(),
            C::Ledger(LedgerCommand::Log { ledger, .. }) => Given::new(Some(ledger), None, None),
            C::Ledger(
                LedgerCommand::TestSigned {
                    ledger, schemas, ..
                }
                | LedgerCommand::FormalSigned {
                    ledger, schemas, ..
                }
                | LedgerCommand::Delivered {
                    ledger, schemas, ..
                }
                | LedgerCommand::Entered {
                    ledger, schemas, ..
                }
                | LedgerCommand::Terminate {
                    ledger, schemas, ..
                }
                | LedgerCommand::SetCode {
                    ledger, schemas, ..
                }
                | LedgerCommand::Revoke {
                    ledger, schemas, ..
                }
                | LedgerCommand::Correct {
                    ledger, schemas, ..
                },
            ) => Given::new(Some(ledger), Some(schemas), None),
            C::Mail(MailCommand::Send { ledger, .. }) => Given::new(Some(ledger), None, None),
            C::Assess {
                ledger, schemas, ..
            } => Given::new(Some(ledger), Some(schemas), None),
            C::Mail(MailCommand::Check { .. }) => Given::default(),
        }
    }
}

impl RenderDoc {
    fn given(&self) -> Given {
        match self {
            RenderDoc::TestAgreement {
                args, templates, ..
            }
            | RenderDoc::FormalAgreement { args, templates } => {
                Given::new(Some(&args.ledger), Some(&args.schemas), Some(templates))
            }
            RenderDoc::OpeningTable { args } => {
                Given::new(Some(&args.ledger), Some(&args.schemas), None)
            }
        }
    }
}

/// For a command with the option: the path from after the command name,
/// else from before it, else from the environment variable.
fn resolve(after: Option<Option<PathBuf>>, before: Option<PathBuf>, env: &str) -> Option<PathBuf> {
    after?.or(before).or_else(|| {
        std::env::var_os(env)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// A folder named on the command line (or by its variable) must exist:
/// a typo would otherwise silently mean the built-in files.
fn existing_dir(dir: Option<PathBuf>, what: &str, option: &str) -> Result<Option<PathBuf>, String> {
    match &dir {
        Some(d) if d.is_file() => Err(format!(
            "{what}应是一个目录,这是一个文件:{};请检查 {option}",
            d.display()
        )),
        Some(d) if !d.is_dir() => Err(format!("{what}不存在:{};请检查 {option}", d.display())),
        _ => Ok(dir),
    }
}

fn globals(args: &mut Args) -> Result<Globals, String> {
    let given = args.command.given();
    // Before the command name, an option the command does not use is said,
    // as clap says it after the name: it would otherwise do nothing.
    let unused = [
        ("--ledger", args.ledger.is_some() && given.ledger.is_none()),
        (
            "--schemas",
            args.schemas.is_some() && given.schemas.is_none(),
        ),
        (
            "--templates",
            args.templates.is_some() && given.templates.is_none(),
        ),
    ];
    if let Some((option, _)) = unused.iter().find(|(_, unused)| *unused) {
        return Err(format!(
            "此命令不使用 {option};请去掉该选项(用 zwyun 命令 --help 查看该命令的选项)"
        ));
    }
    let ledger = resolve(given.ledger, args.ledger.take(), "ZWYUN_LEDGER");
    let schemas = resolve(given.schemas, args.schemas.take(), "ZWYUN_SCHEMAS");
    let templates = resolve(given.templates, args.templates.take(), "ZWYUN_TEMPLATES");
    Ok(Globals {
        ledger_given: ledger.is_some(),
        ledger: ledger.unwrap_or_else(|| PathBuf::from("zwyun.db")),
        schemas: existing_dir(schemas, "校验规则目录", "--schemas 或 ZWYUN_SCHEMAS")?,
        templates: existing_dir(templates, "协议模板目录", "--templates 或 ZWYUN_TEMPLATES")?,
    })
}

pub fn run(mut args: Args) -> u8 {
    init_tracing(args.verbose);
    crate::read::install_panic_hook();
    let code = globals(&mut args)
        .and_then(|g| dispatch(args.command, &g))
        .unwrap_or_else(fail);
    crate::bench::report_peak_if_asked();
    code
}

/// The rule files, loaded only by the commands that use them.
fn load_schemas(g: &Globals) -> Result<Schemas, String> {
    Schemas::load(g.schemas.as_deref()).map_err(|e| format!("校验规则有误:{e}"))
}

fn dispatch(command: Command, g: &Globals) -> Result<u8, String> {
    let dir = g.schemas.as_deref();
    match command {
        Command::Validate {
            files,
            format,
            report,
            ..
        } => command::check::validate(&files, format, report.as_deref(), &load_schemas(g)?, g),
        Command::Read { files, format, .. } => {
            command::check::read(&files, format, &load_schemas(g)?, g)
        }
        Command::Approve {
            file,
            replace,
            effective,
            record,
            archive,
            ..
        } => command::check::approve(
            &file,
            archive.as_deref(),
            replace,
            effective,
            &record.clerk(),
            &load_schemas(g)?,
            g,
            dir,
        ),
        Command::Process {
            inbox, out, intake, ..
        } => command::intake::process(inbox, out, &intake.options(), None, &load_schemas(g)?, g),
        Command::Watch {
            inbox,
            out,
            poll,
            intake,
            ..
        } => {
            let schemas = load_schemas(g)?;
            command::intake::process(inbox, out, &intake.options(), Some(poll), &schemas, g)
        }
        Command::Bench {
            n, dir, fixtures, ..
        } => {
            let opts = crate::bench::Options {
                n,
                dir,
                fixtures: Some(fixtures),
                schemas: g.schemas.clone(),
            };
            crate::bench::run(&opts, &load_schemas(g)?).map(|report| {
                crate::out!("{report}");
                EXIT_OK
            })
        }
        Command::Demo { dir, .. } => command::intake::demo(&dir, &load_schemas(g)?, g),
        Command::Status { limit, format, .. } => command::intake::status(limit, format, &g.ledger),
        Command::Projects {
            search,
            state,
            on,
            format,
            ..
        } => command::life::projects(
            &g.ledger,
            dir,
            &load_schemas(g)?,
            on.unwrap_or_else(command::today),
            search.as_deref(),
            state,
            format,
        ),
        Command::Project {
            project,
            on,
            format,
            ..
        } => command::life::project(
            &g.ledger,
            &project,
            on.unwrap_or_else(command::today),
            format,
        ),
        Command::Agenda {
            on, days, format, ..
        } => command::life::agenda(
            &g.ledger,
            dir,
            &load_schemas(g)?,
            on.unwrap_or_else(command::today),
            days,
            format,
        ),
        Command::Render { doc } => command::render::run(
            &doc.request(),
            g.templates.as_deref(),
            &load_schemas(g)?,
            &g.ledger,
        ),
        Command::Blank { form, output, .. } => {
            let kind = match form {
                BlankForm::Annex1 => FormKind::Annex1,
                BlankForm::Annex4 => FormKind::Annex4,
            };
            blank::write(kind, &load_schemas(g)?, &output)
                .map(|()| {
                    crate::outln!("已生成空白表格:{}", output.display());
                    EXIT_OK
                })
                .map_err(|e| crate::oserror::describe(&output, &e, "无法生成空白表格"))
        }
        Command::Deadline {
            signed,
            days,
            format,
            ..
        } => command::settle::deadline(signed, days, format, &load_schemas(g)?, dir),
        Command::Calendar { export, .. } => command::calendar::run(export.as_deref(), dir),
        Command::Serve {
            listen,
            inbox,
            out,
            poll,
            intake,
            public_upload,
            public_rate,
            tls_cert,
            tls_key,
            secure_cookies,
            ..
        } => {
            let options = crate::web::Options {
                listen,
                default_folders: inbox.is_none() && out.is_none(),
                inbox: inbox.unwrap_or_else(|| PathBuf::from("inbox")),
                out: out.unwrap_or_else(|| PathBuf::from("out")),
                intake: intake.options(),
                poll,
                public_upload,
                public_rate,
                tls: tls_cert.zip(tls_key),
                secure_cookies,
            };
            crate::web::serve(options, load_schemas(g)?, g)
        }
        Command::User(cmd) => match cmd {
            UserCommand::Add { name, role, .. } => crate::web::cli::add(&name, &role, &g.ledger),
            UserCommand::Passwd { name, .. } => crate::web::cli::passwd(&name, &g.ledger),
            UserCommand::Disable { name, .. } => crate::web::cli::disable(&name, &g.ledger),
            UserCommand::List { .. } => crate::web::cli::list(&g.ledger),
        },
        Command::Ledger(LedgerCommand::Log {
            project, format, ..
        }) => command::life::log(&g.ledger, project.as_deref(), format),
        Command::Ledger(cmd) => run_ledger(cmd, &load_schemas(g)?, &g.ledger, dir),
        Command::Mail(MailCommand::Check { mail }) => command::mail::check(&mail),
        Command::Mail(MailCommand::Send { mail, .. }) => command::mail::send(&mail, &g.ledger),
        Command::Assess {
            file, format, out, ..
        } => command::settle::assess(&file, format, out.as_deref(), g),
        Command::Settle {
            year,
            on,
            assessments,
            prices,
            out,
            ..
        } => command::settle::settle_year(
            year,
            on.unwrap_or_else(command::today),
            &assessments,
            prices.as_deref(),
            out.as_deref(),
            &load_schemas(g)?,
            &g.ledger,
            dir,
        ),
    }
}

fn run_ledger(
    cmd: LedgerCommand,
    schemas: &Schemas,
    ledger: &Path,
    dir: Option<&Path>,
) -> Result<u8, String> {
    use crate::ops::record;
    use command::life::{present, record_on_project, Session};
    let (record_args, name) = match &cmd {
        LedgerCommand::TestSigned { record, .. } => (record, "ledger test-signed"),
        LedgerCommand::FormalSigned { record, .. } => (record, "ledger formal-signed"),
        LedgerCommand::Delivered { record, .. } => (record, "ledger delivered"),
        LedgerCommand::Entered { record, .. } => (record, "ledger entered"),
        LedgerCommand::Terminate { record, .. } => (record, "ledger terminate"),
        LedgerCommand::SetCode { record, .. } => (record, "ledger set-code"),
        LedgerCommand::Revoke { record, .. } => (record, "ledger revoke"),
        LedgerCommand::Correct { record, .. } => (record, "ledger correct"),
        LedgerCommand::Log { .. } => unreachable!("dispatched before"),
    };
    let format = record_args.format;
    let session = Session::open(ledger, dir, &record_args.clerk(), name)?;
    let desk = session.desk(schemas);
    match cmd {
        LedgerCommand::TestSigned {
            project,
            date,
            months,
            ..
        } => command::settle::test_signed(&session, &project, date, months, schemas, format),
        LedgerCommand::FormalSigned { project, date, .. } => {
            command::settle::formal_signed(&session, &project, date, schemas, format)
        }
        LedgerCommand::Delivered {
            project,
            date,
            kind,
            ..
        } => {
            let kind = match kind {
                DeliveryKind::Test => "test",
                DeliveryKind::Formal => "formal",
                DeliveryKind::Change => "change",
            };
            record_on_project(&session, &project, format, |p| {
                record::delivered(&desk, p, kind, date)
            })
        }
        LedgerCommand::Entered {
            project,
            kind,
            date,
            ..
        } => {
            let kind = match kind {
                EntryKind::Quota => "quota",
                EntryKind::Test => "test",
                EntryKind::Formal => "formal",
            };
            record_on_project(&session, &project, format, |p| {
                record::entered(&desk, p, kind, date)
            })
        }
        LedgerCommand::Terminate {
            project,
            date,
            reason,
            ..
        } => record_on_project(&session, &project, format, |p| {
            record::terminate(&desk, p, date, &reason)
        }),
        LedgerCommand::SetCode { project, code, .. } => {
            record_on_project(&session, &project, format, |p| {
                record::set_code(&desk, p, &code)
            })
        }
        LedgerCommand::Revoke { event, reason, .. } => {
            present(record::revoke(&desk, event, &reason), format)
        }
        LedgerCommand::Correct {
            event,
            date,
            reason,
            ..
        } => present(record::correct(&desk, event, date, &reason), format),
        LedgerCommand::Log { .. } => unreachable!("dispatched before"),
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZWYUN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("zwyun={level}")));
    // Colour only on a terminal, and never when NO_COLOR is set.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_ansi(colour)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
