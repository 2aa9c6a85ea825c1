"""/api/people/: people the press names, with their aliases."""

from articles.models import Person

from .base import APIViewTestCases, make_article, make_company, make_event, make_person


class TestPersonAPI(APIViewTestCases.APIViewTestCase):
    model = Person
    compared_fields = ("slug", "name", "aliases", "title", "affiliation", "description")

    def make_objects(self):
        acme = make_company("acme")
        return [
            make_person("jane-roe", name="Jane Roe", title="CEO of Acme", affiliation=acme, aliases=("J. Roe",)),
            make_person("wu-jihan", name="Jihan Wu", aliases=("Wu Jihan",)),
            make_person("john-doe", name="John Doe"),
        ]

    def create_data(self, objects):
        return [
            {"slug": "micree-zhan", "name": "Micree Zhan", "aliases": ["Zhan Ketuan"], "affiliation": "acme"},
            {"slug": "analyst", "name": "An Analyst", "title": "Analyst at a bank", "description": "Quoted once."},
        ]

    def update_data(self):
        return {"title": "Former CEO of Acme", "aliases": ["J. Roe", "Jane R."], "affiliation": None}


def test_a_person_shows_how_many_articles_and_events_involve_them(db, client):
    jane = make_person("jane-roe")
    article = make_article("story", people=(jane,))
    make_event(article, "hearing", participants=((jane, "speaker"), (jane, "subject")))
    shown = client.get("/api/people/jane-roe/").json()
    assert (shown["article_count"], shown["event_count"]) == (1, 1)


def test_people_are_searched_by_alias(db, client):
    make_person("jihan-wu", name="Jihan Wu", aliases=("Woo Jee-han",), affiliation=make_company("bitmain"))
    make_person("jane-roe")
    results = client.get("/api/people/", {"q": "JEE-HAN"}).json()["results"]
    assert [p["slug"] for p in results] == ["jihan-wu"]
    assert results[0]["affiliation"] == "bitmain"
