"""Template context shared by every page: the menus of the UI shell."""

from django.utils.functional import SimpleLazyObject

from .navigation import menu_for


def navigation(request):
    """The main and account menus, worked out only if a template shows them, and once per request.

    Menu entries may ask the database whether they are visible; an HTMX
    partial that shows no menu should not pay for that, nor a page that
    renders several templates pay twice.
    """

    def menu(name: str):
        built = request.__dict__.setdefault("_nimbus_menus", {})
        if name not in built:
            built[name] = menu_for(request, name)
        return built[name]

    return {"main_menu": SimpleLazyObject(lambda: menu("main")), "user_menu": SimpleLazyObject(lambda: menu("user"))}
