"""The plan import contract as an Excel workbook (.xlsx), without Flask or a database.

`read_workbook` turns the bytes of an uploaded workbook into the same document the JSON
import takes (shared/docs/plan-import.md), so `plan_import.validate` and the import
service check and write it unchanged. It also keeps where each value came from, so a
problem found at a contract path (`plans[3].start`) is shown at its cell (sheet 计划,
row 5, column M). `template_workbook` gives the template the console offers. The layout
is described in docs/plan-workbook.md.

The bytes come from a stranger: the archive is measured before openpyxl sees it (size,
members, declared and actual unpacked sizes, no DTD), sheets are streamed in read-only
mode, and rows are counted so no sheet costs more than MAX_ROWS rows, whatever it claims.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Optional

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from . import clock, plan_import
from .plan_import import Issue, NotADocument, PathPart

# openpyxl warns (UserWarning, from its own modules) about what it drops or cannot read in
# a workbook: one line per cell for some, each its own message. What matters to the clerk
# is reported as an issue at its cell; the rest is not the log's business. Installed once:
# `warnings.catch_warnings` around each reading would swap the process-wide filter list
# under other threads (uploads are read in threads), losing or leaking their filters.
warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\.|$)")

# --- limits -----------------------------------------------------------------------------

MAX_WORKBOOK_BYTES = 16 * 1024 * 1024   # the upload itself (a 10,000-plan workbook is ~2 MB)
MAX_MEMBERS = 500                       # files in the archive (a real workbook has ~15)
MAX_SHEET_XML_BYTES = 48 * 1024 * 1024  # one sheet unpacked (10,000 plans: 6 MB at most)
MAX_STRINGS_XML_BYTES = 24 * 1024 * 1024  # the shared strings, all held in memory by openpyxl
MAX_STRINGS = 400_000                   # ... and how many (10,000 plans: ~56,000; each costs ~150 B)
MAX_OTHER_XML_BYTES = 8 * 1024 * 1024   # styles, workbook, relationships, themes...
MAX_UNPACKED_BYTES = 192 * 1024 * 1024  # all members together
MAX_ROWS = 100_001                      # rows per sheet, the header included
MAX_COLUMNS = 40                        # columns read (the plans sheet has 24 fields); cells past it are ignored
HEADER_WITHIN = 20                      # the header row is one of a sheet's first rows
PROGRESS_EVERY = 500                    # rows between two progress calls
MAX_ISSUES = 1_000                      # cells refused before reading stops (fix these first)

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, or an .xlsx saved with a password
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_CHUNK = 1024 * 1024

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Progress = Callable[[int, int], None]


# --- the layout -------------------------------------------------------------------------

class Field(NamedTuple):
    key: str          # the contract's name, dotted: "enterprise.name", "project.levels.1"
    label: str        # the Chinese header
    kind: str         # text | digits | moment | bool | number | enum
    required: bool = False
    words: tuple[tuple[str, str], ...] = ()  # enum: (Chinese word, contract value)
    note: str = ""    # what the 说明 sheet says about it
    example: Any = None


ROLE_WORDS = (("组长", "leader"), ("组员", "member"), ("技术专家", "expert"),
              ("实习审核员", "intern"), ("远程审核员", "remote"))
MODE_WORDS = (("现场审核", "onsite"), ("现场+远程", "combined"), ("远程审核", "remote"))
STATUS_WORDS = (("有效", "valid"), ("已取消", "cancelled"), ("已变更", "changed"))
ID_TYPE_WORDS = (("身份证", "id_card"), ("其他", "other"))
YES_WORDS = ("是", "true", "yes", "y", "1", "√")
NO_WORDS = ("否", "false", "no", "n", "0", "×")
LEVELS = 5  # the contract allows up to five project levels; the template shows three


class Sheet(NamedTuple):
    name: str              # the Chinese sheet name the template uses
    alias: str             # also accepted: the contract's word
    fields: tuple[Field, ...]
    required: bool


PLAN_FIELDS = (
    Field("plan_no", "计划编号", "text", True, note="同一文件内不可重复；再次导入同一编号即更新该计划",
          example="P-2021-000123"),
    Field("enterprise.name", "受审核企业名称", "text", True, example="吉林省某某股份有限公司"),
    Field("enterprise.contact", "企业联系人", "text", example="张某"),
    Field("enterprise.phone", "企业联系电话", "digits", example="0435-1234567"),
    Field("project.code", "认证项目代码", "text", True, example="ISO9001"),
    *(Field(f"project.levels.{n}", f"项目{level}级", "text",
            example=example)
      for n, level, example in ((1, "一", "管理体系认证"), (2, "二", "质量管理体系认证"), (3, "三", "ISO9001"),
                                (4, "四", None), (5, "五", None))),
    Field("required", "必签领域", "bool", note="是 / 否；质量、环境、职业健康安全管理体系为“是”；空 = 否",
          example="是"),
    Field("certificate_no", "证书编号", "digits", example="11721Q0123R1M"),
    Field("activity", "审核类型", "text", example="再认证审核(二阶段)"),
    Field("start", "首次会议开始时间", "moment", True,
          note="Excel 日期时间单元格（按本计划时区理解），或带时差的文本 2021-08-18T08:30:00+08:00",
          example=dt.datetime(2021, 8, 18, 8, 30)),
    Field("end", "末次会议结束时间", "moment", True, note="同上，须晚于开始时间",
          example=dt.datetime(2021, 8, 20, 15, 30)),
    Field("timezone", "时区", "text", note="IANA 时区名；空 = Asia/Shanghai", example=None),
    Field("region", "所在地区", "text", example="吉林省通化市"),
    Field("mode", "审核方式", "enum", words=MODE_WORDS, note="空 = 现场审核", example="现场审核"),
    Field("confidential", "涉密", "bool", note="是 / 否；空 = 否", example="否"),
    Field("remarks", "备注", "text", example="审核方式: 现场审核"),
    Field("status", "计划状态", "enum", words=STATUS_WORDS, note="空 = 有效", example="有效"),
)
SITE_FIELDS = (
    Field("plan_no", "计划编号", "text", True, note="写在“计划”表中的编号；一个计划可有多行（多个场所），按行序",
          example="P-2021-000123"),
    Field("address", "审核地址", "text", True, example="吉林省集安市工业园区1号"),
    Field("lat", "纬度", "number", note="WGS-84 度数；与经度同填或同空（空 = 未定位）", example=41.1256),
    Field("lon", "经度", "number", example=126.1865),
)
TEAM_FIELDS = (
    Field("plan_no", "计划编号", "text", True, note="一个计划每位成员一行，按行序", example="P-2021-000123"),
    Field("phone", "手机号", "digits", True, note="11 位手机号（登录账号）", example="13800000001"),
    Field("role", "组内角色", "enum", True, words=ROLE_WORDS, example="组长"),
)
AUDITOR_FIELDS = (
    Field("phone", "手机号", "digits", True, note="审核员的登录账号；已有账号的审核员可不列出", example="13800000001"),
    Field("name", "姓名", "text", True, example="张三"),
    Field("id_type", "证件类型", "enum", words=ID_TYPE_WORDS, example="身份证"),
    Field("id_number", "证件号码", "digits", note="请将此列设为“文本”格式：18 位号码作为数字输入会丢失末尾数字",
          example="110101198001010011"),
    Field("initial_password", "初始密码", "text", note="可空（用本机构默认初始密码）；已有账号的密码不会被改",
          example=None),
)
AGENCY_FIELDS = (
    Field("code", "机构批准号", "text", True, example="CNCA-R-0000-000"),
    Field("name", "机构名称", "text", True, example="某某认证中心有限公司（示例）"),
)

PLANS = Sheet("计划", "plans", PLAN_FIELDS, True)
SITES = Sheet("场所", "sites", SITE_FIELDS, True)
TEAM = Sheet("团队", "team", TEAM_FIELDS, True)
AUDITORS = Sheet("审核员", "auditors", AUDITOR_FIELDS, False)
AGENCY = Sheet("机构", "agency", AGENCY_FIELDS, False)  # an upload on the console is its staff's body's
SHEETS = (PLANS, SITES, TEAM, AUDITORS, AGENCY)
GUIDE_SHEET = "说明"


def header_text(item: Field) -> str:
    """The header cell the template writes: "*计划编号 (plan_no)"; the reader accepts it,
    the Chinese label alone, or the contract name alone."""
    return f"{'*' if item.required else ''}{item.label} ({item.key})"


# --- what reading gives -----------------------------------------------------------------

class Column(NamedTuple):
    letter: str             # "M"
    header: str             # "首次会议开始时间 (start)"


class Place(NamedTuple):
    """A place in the workbook: a sheet, a row (None: the sheet as a whole) and a column
    (None: the row as a whole, or a column the sheet lacks)."""

    sheet: str
    row: Optional[int]
    column: Optional[Column]


@dataclass(frozen=True)
class WorkbookIssue(Issue):
    """A problem found while reading a cell; `place` says where (the path, when there is
    one, is the contract path the cell would have filled)."""

    place: Optional[Place] = None


@dataclass
class _SheetMap:
    sheet: Sheet
    title: str                                     # the sheet's name in the file
    columns: dict[str, Column] = field(default_factory=dict)  # field key -> column

    def place(self, row: Optional[int], key: Optional[str]) -> Place:
        column = self.columns.get(key) if key else None
        if key and column is None:
            item = next((f for f in self.sheet.fields if f.key == key), None)
            if item is not None:
                column = Column("", header_text(item).lstrip("*"))
        return Place(self.title, row, column)


@dataclass
class WorkbookResult:
    """The document read from a workbook, the problems met while reading it, and the way
    back from a contract path to a cell (`where`)."""

    document: dict
    issues: list[Issue]
    _maps: dict[str, _SheetMap] = field(default_factory=dict, repr=False)
    _plan_rows: list[int] = field(default_factory=list, repr=False)
    _site_rows: list[list[int]] = field(default_factory=list, repr=False)
    _team_rows: list[list[int]] = field(default_factory=list, repr=False)
    _auditor_rows: list[int] = field(default_factory=list, repr=False)
    _agency_row: Optional[int] = field(default=None, repr=False)
    _missing_columns: set[tuple[str, str]] = field(default_factory=set, repr=False)
    _repeated: set[int] = field(default_factory=set, repr=False)  # plans whose plan_no came earlier

    def where(self, path: Iterable[PathPart] | str) -> Optional[Place]:
        """The place of a contract path (a tuple, or its text "plans[3].sites[0].lat"),
        or None when the workbook has no place for it."""
        parts = parse_path(path) if isinstance(path, str) else tuple(path)
        if not parts:
            return None
        head, rest = parts[0], parts[1:]
        if head == "agency":
            return self._at(AGENCY, self._agency_row, _key(rest))
        if head == "auditors":
            if not rest:
                return self._at(AUDITORS, None, None)
            return self._at(AUDITORS, _index(self._auditor_rows, rest[0]), _key(rest[1:]))
        if head != "plans":
            return None
        if not rest:
            return self._at(PLANS, None, None)
        plan = rest[0]
        row = _index(self._plan_rows, plan)
        tail = rest[1:]
        for name, sheet, rows in (("sites", SITES, self._site_rows), ("team", TEAM, self._team_rows)):
            if tail[:1] == (name,):
                if len(tail) == 1 or not isinstance(plan, int) or not 0 <= plan < len(rows):
                    return self._at(PLANS, row, "plan_no")
                return self._at(sheet, _index(rows[plan], tail[1]), _key(tail[2:]))
        key = _key(tail)
        if key == "project.levels":
            key = "project.levels.1"
        elif key and key.startswith("project.levels."):
            key = "project.levels." + str(int(key.rsplit(".", 1)[1]) + 1)
        return self._at(PLANS, row, key)

    def _at(self, sheet: Sheet, row: Optional[int], key: Optional[str]) -> Optional[Place]:
        found = self._maps.get(sheet.name)
        if found is None:
            return Place(sheet.name, None, None)
        return found.place(row, key)

    def place_of(self, issue: Issue) -> Optional[Place]:
        if isinstance(issue, WorkbookIssue) and issue.place is not None:
            return issue.place
        return self.where(issue.path)

    def with_validation(self, issues: Iterable[Issue]) -> list[Issue]:
        """The reading problems and the validation problems together, in workbook order
        (sheet, row, column). A validation problem at a cell reading already refused, or
        "required" under a column the sheet lacks (said once, at its header), is left out;
        so is any problem of a plan row whose plan_no an earlier row has, but that one."""
        refused = {_cell(issue.place) for issue in self.issues
                   if isinstance(issue, WorkbookIssue) and issue.place and issue.place.row}
        merged = list(self.issues)
        for issue in issues:
            if (issue.path[:1] == ("plans",) and len(issue.path) > 1 and issue.path[1] in self._repeated
                    and issue.code != "duplicate_plan_no"):
                continue
            place = self.where(issue.path)
            if place is not None and place.row and _cell(place) in refused:
                continue
            if (issue.code == "required" and place is not None and place.column
                    and (place.sheet, place.column.header) in self._missing_columns):
                continue
            merged.append(issue)
        return sorted(merged, key=self._order)

    def _order(self, issue: Issue) -> tuple:
        place = self.place_of(issue)
        if place is None:
            return (-1, 0, "", "")
        sheets = [sheet.name for sheet in SHEETS]
        sheet = sheets.index(place.sheet) if place.sheet in sheets else len(sheets)
        letter = place.column.letter if place.column else ""
        return (sheet, place.row or 0, len(letter), letter)


def _cell(place: Place) -> tuple:
    return (place.sheet, place.row, place.column.header if place.column else None)


def _key(parts: tuple[PathPart, ...]) -> Optional[str]:
    return ".".join(str(part) for part in parts) or None


def _index(rows: list[int], part: PathPart) -> Optional[int]:
    if isinstance(part, int) and 0 <= part < len(rows):
        return rows[part]
    return None


_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def parse_path(text: str) -> tuple[PathPart, ...]:
    """"plans[3].sites[0].lat" -> ("plans", 3, "sites", 0, "lat") (format_path undone)."""
    return tuple(int(index) if index else name for index, name in _PATH_PART.findall(text))


# --- checking the archive before openpyxl ---------------------------------------------------

def check_archive(data: bytes) -> None:
    """NotADocument unless `data` is a zip that unpacks within the limits, with the parts
    of a workbook and no DTD (entity expansion) in any XML part."""
    if not data:
        raise NotADocument("not_a_workbook")
    if len(data) > MAX_WORKBOOK_BYTES:
        raise NotADocument("workbook_too_large", max_mb=MAX_WORKBOOK_BYTES // (1024 * 1024))
    if data.startswith(_OLE2_MAGIC):
        raise NotADocument("workbook_xls")
    if not data.startswith(b"PK"):
        raise NotADocument("not_a_workbook")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise NotADocument("not_a_workbook") from None
    with archive:
        names = {member.filename for member in members}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise NotADocument("not_a_workbook")
        if len(members) > MAX_MEMBERS:
            raise NotADocument("workbook_bomb")
        declared = 0
        for member in members:
            declared += member.file_size
            if member.file_size > _member_limit(member.filename) or declared > MAX_UNPACKED_BYTES:
                raise NotADocument("workbook_bomb")
        for member in members:
            _check_member(archive, member)


def _member_limit(name: str) -> int:
    if name.startswith("xl/worksheets/") and name.endswith(".xml"):
        return MAX_SHEET_XML_BYTES
    if name == "xl/sharedStrings.xml":
        return MAX_STRINGS_XML_BYTES
    return MAX_OTHER_XML_BYTES


def _check_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Unpack one member in chunks: never more than it declared (zipfile stops there and
    checks the CRC, so a member longer than declared fails), and no DTD in XML."""
    if member.flag_bits & 0x1:
        raise NotADocument("workbook_encrypted")
    size = 0
    strings = 0
    tail = b""
    try:
        with archive.open(member) as stream:
            while True:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > member.file_size:
                    raise NotADocument("workbook_bomb")
                if _DTD.search(tail + chunk):
                    raise NotADocument("workbook_bomb")
                if member.filename == "xl/sharedStrings.xml":
                    strings += (tail[-4:] + chunk).count(b"</si>")  # tail[-4:] cannot hold a whole one
                    if strings > MAX_STRINGS:
                        raise NotADocument("workbook_bomb")
                tail = chunk[-16:]
    except NotADocument:
        raise
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError, EOFError):
        raise NotADocument("workbook_broken") from None
    if size != member.file_size:
        raise NotADocument("workbook_broken")


# --- reading ----------------------------------------------------------------------------

def read_workbook(data: bytes, *, progress: Optional[Progress] = None) -> WorkbookResult:
    """The document in a workbook (the JSON contract's shape), the problems met reading
    it, and where each value came from. NotADocument when `data` is not a workbook or
    would cost too much to open (its code says which; words/plan_import words it).
    Commit only a result whose `issues` is empty and whose document validates."""
    check_archive(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
        try:
            return _Reader(book, progress).read()
        finally:
            book.close()
    except NotADocument:
        raise
    except Exception:  # openpyxl's many ways of saying the XML is not a workbook
        raise NotADocument("workbook_broken") from None


class _Reader:
    def __init__(self, book, progress: Optional[Progress]) -> None:
        self.book = book
        self.progress = progress
        self.issues: list[Issue] = []
        self.result = WorkbookResult(document={}, issues=self.issues)
        self.done = 0
        self.total = 0
        self.entry = 0  # the index of the entry being read in its sheet
        self.refused: set[tuple[str, int, str]] = set()  # (sheet, row, key) of refused cells
        self.worksheets = {}
        for sheet in SHEETS:
            found = self._find(sheet)
            if found is not None:
                self.worksheets[sheet.name] = found
                self.total += max(0, min(found.max_row or 0, MAX_ROWS) - 1)

    def _find(self, sheet: Sheet):
        for title in self.book.sheetnames:
            if _normal(title).lower() in (sheet.name, sheet.alias):
                return self.book[title]
        return None

    def read(self) -> WorkbookResult:
        document: dict[str, Any] = {}
        agency_rows = list(self._rows(AGENCY))
        if agency_rows:
            self.result._agency_row, document["agency"] = agency_rows[0]
            for row, _values in agency_rows[1:]:
                self._issue(AGENCY, row, None, "extra_agency_row", first=agency_rows[0][0])
        auditor_rows = list(self._rows(AUDITORS))
        if AUDITORS.name in self.worksheets:
            document["auditors"] = [values for _, values in auditor_rows]
            self.result._auditor_rows = [row for row, _ in auditor_rows]
        plans: list[dict] = []
        by_number: dict[str, list[int]] = {}
        for row, values in self._rows(PLANS):
            gap = _nest_levels(values)
            if gap is not None:
                self._issue(PLANS, row, f"project.levels.{gap}", "level_gap")
            values.setdefault("sites", [])
            values.setdefault("team", [])
            number = values.get("plan_no")
            if isinstance(number, str):
                by_number.setdefault(number, []).append(len(plans))
            plans.append(values)
            self.result._plan_rows.append(row)
            self.result._site_rows.append([])
            self.result._team_rows.append([])
        document["plans"] = plans
        # A plan number refused in its own cell (a date, a formula) explains why its sites
        # and team find no plan: said there, once, rather than at each of their rows.
        numbers_refused = any(sheet == self._title(PLANS) and key == "plan_no"
                              for sheet, _row, key in self.refused)
        for sheet, name, rows in ((SITES, "sites", self.result._site_rows),
                                  (TEAM, "team", self.result._team_rows)):
            for row, values in self._rows(sheet):
                number = values.pop("plan_no", None)
                targets = by_number.get(number) if isinstance(number, str) else None
                if not targets:
                    if number is None:
                        if (self._title(sheet), row, "plan_no") not in self.refused:
                            self._issue(sheet, row, "plan_no", "required")
                    elif not numbers_refused:
                        self._issue(sheet, row, "plan_no", "unknown_plan", plan_no=str(number)[:64])
                    continue
                index = targets[0]  # a plan_no used twice: the rows go to its first plan
                plans[index][name].append(values)
                rows[index].append(row)
        self.result._repeated = {index for targets in by_number.values() for index in targets[1:]}
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done))
        self.result.document = plan_import.normalise_document(document)
        return self.result

    def _title(self, sheet: Sheet) -> str:
        found = self.worksheets.get(sheet.name)
        return found.title if found is not None else sheet.name

    def _issue(self, sheet: Sheet, row: Optional[int], key: Optional[str], code: str,
               path: tuple[PathPart, ...] = (), **params: Any) -> None:
        sheet_map = self.result._maps.get(sheet.name) or _SheetMap(sheet, self._title(sheet))
        self.issues.append(WorkbookIssue(path, code, params, place=sheet_map.place(row, key)))

    def _rows(self, sheet: Sheet) -> Iterator[tuple[int, dict]]:
        """(row number, the row's values by contract key) for each non-empty data row."""
        worksheet = self.worksheets.get(sheet.name)
        if worksheet is None:
            if sheet.required:
                self.issues.append(WorkbookIssue((), "missing_sheet", {"sheet": sheet.name},
                                                 place=Place(sheet.name, None, None)))
            return
        worksheet.reset_dimensions()  # what the file claims about its size is not believed
        sheet_map = _SheetMap(sheet, worksheet.title)
        self.result._maps[sheet.name] = sheet_map
        self.entry = 0
        # Rows the file leaves out come back empty, so counting rows also bounds a sheet
        # whose only row is numbered in the millions; and no row is wider than MAX_COLUMNS,
        # whatever column its cells claim.
        rows = worksheet.iter_rows(max_row=HEADER_WITHIN, max_col=MAX_COLUMNS, values_only=False)
        for number, cells in enumerate(rows, start=1):
            if any(cell.value is not None and str(cell.value).strip() for cell in cells):
                by_column = self._header(sheet, sheet_map, number, cells)
                rows = worksheet.iter_rows(min_row=number + 1, max_col=MAX_COLUMNS, values_only=False)
                yield from self._data(sheet, sheet_map, rows, number + 1, by_column)
                return
        self._issue(sheet, None, None, "empty_sheet", within=HEADER_WITHIN)

    def _header(self, sheet: Sheet, sheet_map: _SheetMap, row: int, cells) -> list[Optional[Field]]:
        by_column: list[Optional[Field]] = []
        for position, cell in enumerate(cells, start=1):
            letter = get_column_letter(position)
            text = _normal(str(cell.value)).lstrip("*").strip() if cell.value is not None else ""
            if not text:
                by_column.append(None)
                continue
            item = _field_for(sheet, text)
            here = Place(sheet_map.title, row, Column(letter, text[:60]))
            if item is None:
                self.issues.append(WorkbookIssue((), "unknown_column", {"header": text[:60]}, place=here))
                by_column.append(None)
            elif item.key in sheet_map.columns:
                first = sheet_map.columns[item.key]
                self.issues.append(WorkbookIssue((), "duplicate_column", {"first": first.letter}, place=here))
                by_column.append(None)
            else:
                sheet_map.columns[item.key] = Column(letter, text[:60])
                by_column.append(item)
        for item in sheet.fields:
            if item.required and item.key not in sheet_map.columns:
                header = header_text(item).lstrip("*")
                self.result._missing_columns.add((sheet_map.title, header))
                self.issues.append(WorkbookIssue((), "missing_column", {"header": header},
                                                 place=Place(sheet_map.title, row, Column("", header))))
        return by_column

    def _data(self, sheet: Sheet, sheet_map: _SheetMap, rows, first_row: int,
              by_column: list[Optional[Field]]) -> Iterator[tuple[int, dict]]:
        for number, cells in enumerate(rows, start=first_row):
            if number > MAX_ROWS:
                self._issue(sheet, None, None, "too_many_rows", max=MAX_ROWS - 1)
                return
            if len(self.issues) >= MAX_ISSUES:
                self._issue(sheet, number, None, "too_many_problems", max=MAX_ISSUES)
                return
            self.done += 1
            if self.progress is not None and self.done % PROGRESS_EVERY == 0:
                self.progress(self.done, max(self.total, self.done))
            filled = [(position, cell) for position, cell in enumerate(cells)
                      if cell.value is not None and not (isinstance(cell.value, str) and not cell.value.strip())]
            if not filled:
                continue
            if number == first_row and _is_example(sheet, by_column, filled):
                self._issue(sheet, number, None, "example_row")
            values: dict[str, Any] = {}
            later = []
            for position, cell in filled:
                item = by_column[position] if position < len(by_column) else None
                if item is None:
                    self.issues.append(WorkbookIssue(
                        (), "value_without_header", {},
                        place=Place(sheet_map.title, number, Column(get_column_letter(position + 1), ""))))
                elif item.kind == "moment":
                    later.append((item, cell))  # read in the plan's time zone, once that is known
                else:
                    self._keep(sheet, number, item, cell, values)
            for item, cell in later:
                self._keep(sheet, number, item, cell, values)
            yield number, _nested(values)
            self.entry += 1

    def _keep(self, sheet: Sheet, row: int, item: Field, cell, values: dict) -> None:
        """Put one cell's contract value into `values`, or say why there is none."""
        raw = cell.value
        if cell.data_type == "f":
            problem = ("formula", {"formula": str(getattr(raw, "text", raw))[:60]})
        elif cell.data_type == "e":
            problem = ("error_value", {"value": str(raw)[:20]})
        else:
            value, problem = _convert(item, raw, values)
            if problem is None:
                if isinstance(value, str) and not plan_import.is_storable_text(value):
                    problem = ("unstorable_text", {})
                else:
                    if value is not None:
                        values[item.key] = value
                    return
        code, params = problem
        self.refused.add((self._title(sheet), row, item.key))
        self._issue(sheet, row, item.key, code, self._path(sheet, item), **params)

    def _path(self, sheet: Sheet, item: Field) -> tuple[PathPart, ...]:
        """The contract path a cell fills, where it is known while reading the row."""
        if sheet is AGENCY:
            return ("agency", *item.key.split("."))
        if sheet is AUDITORS:
            return ("auditors", self.entry, item.key)
        if sheet is PLANS:
            if item.key.startswith("project.levels."):
                return ("plans", self.entry, "project", "levels", int(item.key.rsplit(".", 1)[1]) - 1)
            return ("plans", self.entry, *item.key.split("."))
        return ()  # a site or team row belongs to its plan once the row is read


# --- converting one cell ------------------------------------------------------------------

_DIGITS_EXACT = 10 ** 15  # Excel keeps 15 significant digits of a number


def _convert(item: Field, raw: Any, values: dict) -> tuple[Any, Optional[tuple[str, dict]]]:
    kind = item.kind
    if kind == "moment":
        return _moment(raw, values.get("timezone"))
    if kind == "number":
        if isinstance(raw, bool):
            return None, ("not_a_number", {})
        if isinstance(raw, (int, float)):
            return raw, None
        if isinstance(raw, str):
            try:
                number = float(_normal(raw))
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                return number, None
        return None, ("not_a_number", {})
    if kind == "bool":
        if isinstance(raw, bool):
            return raw, None
        text = _normal(str(raw)).lower() if isinstance(raw, (str, int)) else None
        if text in YES_WORDS:
            return True, None
        if text in NO_WORDS:
            return False, None
        return None, ("boolean_word", {"allowed": "是、否"})
    text, problem = _text(raw, item)
    if problem is not None:
        return None, problem
    if not text:
        return None, None
    if kind == "enum":
        normal = _normal(text)
        for word, value in item.words:
            if normal in (word, value):
                return value, None
        return None, ("enum_word", {"allowed": "、".join(word for word, _ in item.words)})
    return text, None


def _text(raw: Any, item: Field) -> tuple[Optional[str], Optional[tuple[str, dict]]]:
    if isinstance(raw, str):
        return raw.strip(), None
    if isinstance(raw, bool):
        return None, ("boolean_in_text", {})
    if isinstance(raw, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return None, ("date_in_text", {})
    if isinstance(raw, (int, float)) and abs(raw) >= _DIGITS_EXACT:
        # Excel holds every number as a double: past 15 digits the rest were already lost
        return None, ("digits_lost", {"value": f"{raw:.6g}"})
    if isinstance(raw, int):
        return str(raw), None
    if isinstance(raw, float):
        if raw.is_integer():
            return str(int(raw)), None
        if item.kind == "digits":
            return None, ("number_in_text", {"value": repr(raw)})
        return repr(raw), None
    return None, ("invalid_cell", {})


_NAIVE_MOMENT = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})[ T](\d{1,2}:\d{2}(:\d{2})?)$")


def _moment(raw: Any, zone_name: Any) -> tuple[Any, Optional[tuple[str, dict]]]:
    """A time column's value as the contract's ISO 8601 text with offset. An Excel date
    cell (or text without an offset) is a wall-clock time in the plan's zone."""
    if isinstance(raw, dt.datetime):
        return _localise(raw, zone_name), None
    if isinstance(raw, (dt.date, dt.time, dt.timedelta)) or isinstance(raw, (int, float, bool)):
        return None, ("moment_needed", {})
    if isinstance(raw, str):
        text = _normal(raw).strip()
        naive = _NAIVE_MOMENT.match(text)
        if naive:
            try:
                moment = dt.datetime.strptime(f"{naive.group(1)} {naive.group(2)}",
                                              "%Y-%m-%d %H:%M:%S" if naive.group(3) else "%Y-%m-%d %H:%M")
            except ValueError:
                return text, None  # validate() says it is not a real date
            return _localise(moment, zone_name), None
        return text, None
    return None, ("moment_needed", {})


def _localise(moment: dt.datetime, zone_name: Any) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.zone(zone_name))  # an unknown zone: validate() names it
    return moment.replace(microsecond=0).isoformat()


# --- shapes -----------------------------------------------------------------------------

def _normal(text: str) -> str:
    """Full-width letters, digits and brackets as ASCII; outer blanks and header stars off."""
    return unicodedata.normalize("NFKC", text).strip()


def _field_for(sheet: Sheet, header: str) -> Optional[Field]:
    text = header.lstrip("*").strip()
    named = re.search(r"\(([A-Za-z_][A-Za-z0-9_.]*)\)\s*$", text)
    for item in sheet.fields:
        if named and named.group(1) == item.key:
            return item
    if named:
        return None
    for item in sheet.fields:
        if text in (item.label, item.key):
            return item
    return None


def _is_example(sheet: Sheet, by_column: list[Optional[Field]], filled: list) -> bool:
    """True for the template's example row left as it was (refused: it is not data, and
    importing it would make a plan and accounts nobody meant)."""
    seen = {}
    for position, cell in filled:
        item = by_column[position] if position < len(by_column) else None
        if item is None:
            return False
        seen[item.key] = cell.value
    return seen == {item.key: item.example for item in sheet.fields if item.example is not None}


def _nested(values: dict) -> dict:
    """{"enterprise.name": x} -> {"enterprise": {"name": x}} (keys in the layout's order)."""
    nested: dict[str, Any] = {}
    for key, value in values.items():
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return nested


def _nest_levels(plan: dict) -> Optional[int]:
    """project.levels.1..5 -> project.levels [..]; the number of a blank level before a
    filled one (the list's positions would no longer be the columns'), else None."""
    project = plan.get("project")
    if not isinstance(project, dict) or "levels" not in project:
        return None
    levels = project["levels"]
    filled = [n for n in range(1, LEVELS + 1) if str(n) in levels]
    project["levels"] = [levels[str(n)] for n in filled]
    return next((n for n in range(1, filled[-1]) if n not in filled), None)


# --- the template -------------------------------------------------------------------------

_TEMPLATE_LEVELS = 3  # the three-level project the regulator's platform uses
_GUIDE = (
    "认证到 · 审核计划导入模板（与 JSON 导入同一份约定：docs/plan-workbook.md）",
    "",
    "怎么填：",
    "1. “计划”表每个计划一行；“场所”表每个审核场所一行，“团队”表每位组员一行，都用“计划编号”对应到计划。"
    "一个计划的场所和组员按行序排列，第一行场所为主场所。",
    "2. “审核员”表列出本次新出现的审核员（已有账号的可不列）；“机构”表填一行：本机构的批准号和名称。",
    "3. 列标题中的英文名不要改（“计划编号 (plan_no)”），带 * 的列必填；列的先后可以调整，多余的列会被拒绝。",
    "4. 第 2 行是示例：请改写成真实数据或删除，原样留着的示例行会被拒绝。",
    "5. 时间请用 Excel 的日期时间单元格（按本计划“时区”列理解，空 = 北京时间），或文本 2021-08-18T08:30:00+08:00。",
    "6. 手机号、证件号码、证书编号等列已设为“文本”格式：18 位身份证号作为数字输入会被 Excel 截成 15 位有效数字，导入时会被拒绝。",
    "7. 不要使用公式：计划是数据，含公式的单元格会被拒绝（请“选择性粘贴 → 数值”）。",
    "8. 上传后先“试导入”：每个问题都写明工作表、行、列；确认无误后再一键导入。同一计划编号再次导入即更新该计划。",
    "",
)


def template_workbook(*, agency: Optional[dict] = None) -> bytes:
    """The template the console offers: the five sheets with Chinese headers that carry
    the contract's names, an example row in each (left as it is, it is refused), the
    columns formatted for what they hold, lists for the closed choices, and a 说明 sheet.
    `agency` ({"code", "name"}) fills the 机构 row instead of the example."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    example_font = Font(italic=True, color="808080")
    required_fill = PatternFill("solid", fgColor="FDE9D9")
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for sheet in SHEETS:
        worksheet = book.create_sheet(sheet.name)
        fields = [item for item in sheet.fields
                  if not (item.key.startswith("project.levels.")
                          and int(item.key.rsplit(".", 1)[1]) > _TEMPLATE_LEVELS)]
        for position, item in enumerate(fields, start=1):
            letter = get_column_letter(position)
            head = worksheet.cell(row=1, column=position, value=header_text(item))
            head.font = bold
            head.fill = required_fill if item.required else header_fill
            head.alignment = Alignment(wrap_text=True, vertical="center")
            if item.note:
                head.comment = Comment(item.note, "认证到")
            worksheet.column_dimensions[letter].width = max(14, min(40, len(header_text(item)) * 1.6))
            if item.kind == "moment":
                worksheet.column_dimensions[letter].number_format = "yyyy-mm-dd hh:mm"
            elif item.kind in ("text", "digits", "enum"):
                worksheet.column_dimensions[letter].number_format = "@"
            if item.kind in ("enum", "bool"):
                words = [word for word, _ in item.words] if item.kind == "enum" else ["是", "否"]
                check = DataValidation(type="list", formula1='"' + ",".join(words) + '"', allow_blank=True,
                                       showErrorMessage=True, errorTitle="认证到",
                                       error="请从列表中选择：" + "、".join(words))
                check.add(f"{letter}2:{letter}{MAX_ROWS}")
                worksheet.add_data_validation(check)
            value = item.example
            if sheet is AGENCY and agency is not None:
                value = agency.get(item.key)
            cell = worksheet.cell(row=2, column=position, value=value)
            if item.kind == "moment":
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif item.kind in ("text", "digits", "enum"):
                cell.number_format = "@"
            if not (sheet is AGENCY and agency is not None):
                cell.font = example_font
        worksheet.freeze_panes = "A2"
        worksheet.row_dimensions[1].height = 32

    guide = book.create_sheet(GUIDE_SHEET)
    for line in _GUIDE:
        guide.append([line])
    guide.append(["工作表", "列标题", "必填", "说明", "示例"])
    for cell in guide[guide.max_row]:
        cell.font = bold
    for sheet in SHEETS:
        for item in sheet.fields:
            if item.key.startswith("project.levels.") and int(item.key.rsplit(".", 1)[1]) > _TEMPLATE_LEVELS:
                continue
            words = "、".join(word for word, _ in item.words)
            note = item.note or (f"可选：{words}" if words else "")
            if item.kind == "enum" and item.note and words:
                note = f"{item.note}；可选：{words}"
            example = item.example.strftime("%Y-%m-%d %H:%M") if isinstance(item.example, dt.datetime) else item.example
            guide.append([sheet.name, header_text(item), "是" if item.required else "", note,
                          "" if example is None else str(example)])
    for letter, width in zip("ABCDE", (10, 30, 6, 70, 28)):
        guide.column_dimensions[letter].width = width
    guide.column_dimensions["A"].width = 10
    book.active = 0
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_workbook(document: dict) -> bytes:
    """A contract document as a workbook in this layout, saved as Excel and WPS save one
    (shared strings, a size per sheet), so reading it gives the document back: for a body
    moving from JSON to Excel, and for tests and benchmarks. Written as XML text row by
    row (openpyxl writes every string inline and holds each cell as an object)."""
    def flat_plans() -> Iterator[dict]:
        for plan in document.get("plans", []):
            flat = _flatten(plan)
            for n, level in enumerate(plan.get("project", {}).get("levels", [])[:LEVELS], start=1):
                flat[f"project.levels.{n}"] = level
            yield flat

    def children(name: str) -> Iterator[dict]:
        for plan in document.get("plans", []):
            for entry in plan.get(name, []):
                yield {"plan_no": plan.get("plan_no"), **entry}

    agency = [document["agency"]] if isinstance(document.get("agency"), dict) else []
    sheets = ((PLANS, flat_plans()), (SITES, children("sites")), (TEAM, children("team")),
              (AUDITORS, document.get("auditors", [])), (AGENCY, agency))
    strings: dict[str, int] = {}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, (sheet, rows) in enumerate(sheets, start=1):
            header = [header_text(item) for item in sheet.fields]
            table = ([_cell_value(item, row) for item in sheet.fields] for row in rows)
            archive.writestr(f"xl/worksheets/sheet{number}.xml",
                             _sheet_xml(header, table, len(sheet.fields), strings))
        archive.writestr("xl/sharedStrings.xml", _XML_HEAD + f'<sst xmlns="{_MAIN}" uniqueCount="{len(strings)}">'
                         + "".join(f"<si><t xml:space=\"preserve\">{_escape(text)}</t></si>" for text in strings)
                         + "</sst>")
        archive.writestr("xl/styles.xml", _STYLES)
        names = [sheet.name for sheet, _ in sheets]
        archive.writestr("xl/workbook.xml", _XML_HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL_NS}"><sheets>'
                         + "".join(f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>'
                                   for n, name in enumerate(names, start=1)) + "</sheets></workbook>")
        archive.writestr("xl/_rels/workbook.xml.rels", _XML_HEAD + f'<Relationships xmlns="{_PKG_REL}">'
                         + "".join(f'<Relationship Id="rId{n}" Type="{_DOC_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                                   for n in range(1, len(names) + 1))
                         + f'<Relationship Id="rId{len(names) + 1}" Type="{_DOC_REL}/styles" Target="styles.xml"/>'
                         + f'<Relationship Id="rId{len(names) + 2}" Type="{_DOC_REL}/sharedStrings" Target="sharedStrings.xml"/>'
                         + "</Relationships>")
        archive.writestr("_rels/.rels", _XML_HEAD + f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
                         f'Type="{_DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        archive.writestr("[Content_Types].xml", _XML_HEAD
                         + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                         '<Default Extension="xml" ContentType="application/xml"/>'
                         f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
                         + "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{ct}.worksheet+xml"/>'
                                   for n in range(1, len(names) + 1))
                         + f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
                         f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
                         "</Types>")
    return out.getvalue()


_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DOC_REL = _REL_NS
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_STYLES = (_XML_HEAD + f'<styleSheet xmlns="{_MAIN}"><numFmts count="1"><numFmt numFmtId="164" '
           'formatCode="yyyy-mm-dd hh:mm"/></numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
           '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill '
           'patternType="gray125"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1">'
           '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" '
           'fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" '
           'xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
           'builtinId="0"/></cellStyles></styleSheet>')
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _sheet_xml(header: list, rows: Iterable[list], width: int, strings: dict[str, int]) -> str:
    letters = [get_column_letter(n) for n in range(1, width + 1)]
    lines = []
    count = 0
    for count, values in enumerate([header, *rows], start=1):
        cells = []
        for letter, value in zip(letters, values):
            ref = f"{letter}{count}"
            if value is None:
                continue
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, (int, float)):
                cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
            elif isinstance(value, dt.datetime):
                serial = (value.replace(tzinfo=None) - _EXCEL_EPOCH) / dt.timedelta(days=1)
                cells.append(f'<c r="{ref}" s="1"><v>{serial!r}</v></c>')
            else:
                index = strings.setdefault(str(value), len(strings))
                cells.append(f'<c r="{ref}" t="s"><v>{index}</v></c>')
        lines.append(f'<row r="{count}">{"".join(cells)}</row>')
    return (_XML_HEAD + f'<worksheet xmlns="{_MAIN}"><dimension ref="A1:{letters[-1]}{max(count, 1)}"/>'
            f'<sheetData>{"".join(lines)}</sheetData></worksheet>')


def _flatten(entry: dict, prefix: str = "") -> dict:
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            flat[f"{prefix}{key}"] = value
    return flat


def _cell_value(item: Field, row: dict) -> Any:
    value = row.get(item.key)
    if value is None:
        return None
    if item.kind == "enum":
        return next((word for word, contract in item.words if contract == value), value)
    if item.kind == "bool" and isinstance(value, bool):
        return "是" if value else "否"
    return value
