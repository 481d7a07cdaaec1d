"""Template context shared by every page: the menus of the UI shell."""

from .navigation import menu_for


def navigation(request):
    return {"main_menu": menu_for(request, "main"), "user_menu": menu_for(request, "user")}
