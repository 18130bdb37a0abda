def test_app_boots_and_login_page_is_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
