"""The citizen's pages. Thin: parse, call the service functions, render."""
from django.http import HttpResponse


def start(request):
    return HttpResponse("IKZ Vorderpfalz")
