"""Chinese error pages of the human pages (the JSON API keeps problem details).

>>> html = error_page_html(404)
>>> "找不到该页面" in html and 'data-status="404"' in html
True
>>> "请求有误" in error_page_html(418)
True
"""

from __future__ import annotations

from civgrid.maps.render import render

__all__ = ["ERROR_TEXTS", "error_page_html"]

#: Status → (title, sentence), in Chinese.
ERROR_TEXTS: dict[int, tuple[str, str]] = {
    400: ("请求有误", "请求的内容有误，请返回上一页检查后重试。"),
    401: ("请先登录", "登录已过期或尚未登录，请重新登录。"),
    403: ("没有权限", "您的账号没有打开此页面或执行此操作的权限。如需办理，请联系指挥中心。"),
    404: ("找不到该页面", "要找的页面或问题不存在，或不在您的办理范围内。"),
    405: ("不支持的操作", "此页面不支持该操作。"),
    409: ("操作冲突", "该问题已被他人更新，或当前状态不允许此操作。请刷新页面后重试。"),
    413: ("文件过大", "上传的文件过大，请压缩后重试。"),
    422: ("填写有误", "提交或查询的内容不符合要求，请返回上一页按提示修改。"),
    429: ("操作过于频繁", "操作过于频繁，请稍后再试。"),
}


def error_page_html(status: int) -> str:
    """The Chinese page of an HTTP error ``status`` (an unknown 4xx reads as 400)."""
    title, text = ERROR_TEXTS.get(status) or (
        ERROR_TEXTS[400] if status < 500 else ("系统错误", "系统出现错误，请稍后再试。")
    )
    return render("error.html", status=status, title=title, text=text)
