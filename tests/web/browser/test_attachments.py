"""防犯灯の修繕 on a phone (360x640) with a photo: pick a photo for the file field, see
its thumbnail, see a refused file's error next to the field, remove a photo, submit; staff
then find the photo on the application, without the GPS position the phone put in it.
Every page passes axe (any impact) and is photographed under test-output/web/."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
from PIL import Image

from tests.attachments import media
from tests.web.browser.helpers import checker, staff_token, submission_id


def test_report_a_broken_light_with_a_photo(phone, web_server, screenshots, tmp_path: Path):
    page = phone
    step = checker(page, screenshots)
    photo = tmp_path / "IMG_0042.jpg"
    photo.write_bytes(media.jpeg_with_gps(320, 240))
    second = tmp_path / "IMG_0043.png"
    second.write_bytes(media.png(32, 32))
    not_a_photo = tmp_path / "light.jpg"
    not_a_photo.write_bytes(media.windows_executable())

    page.goto("/")
    page.get_by_role("link", name="東御市").click()
    page.get_by_label("手続を探す（名前・担当課）").fill("防犯灯")
    page.get_by_role("link", name="防犯灯の設置・修繕の要望").click()
    page.get_by_role("heading", name="防犯灯の設置・修繕の要望").wait_for()
    page.get_by_role("button", name="申請を始める").click()

    page.get_by_role("heading", name="要望者").wait_for()
    page.get_by_label("故障・不点灯の連絡").check()
    page.locator("#f-applicant_name-name").fill("東御　花子")
    page.locator("#f-applicant_name-kana").fill("トウミ　ハナコ")
    page.locator("#f-applicant_postal_code").fill("389-0517")
    page.locator("#f-applicant_address-prefecture").select_option("長野県")
    page.locator("#f-applicant_address-city").fill("東御市")
    page.locator("#f-applicant_address-rest").fill("県281-2")
    page.locator("#f-applicant_phone").fill("0268-62-1111")
    page.get_by_role("button", name="次へ").click()

    page.get_by_role("heading", name="場所と理由").wait_for()
    page.locator("#f-location_address-prefecture").select_option("長野県")
    page.locator("#f-location_address-city").fill("東御市")
    page.locator("#f-location_address-rest").fill("県300")
    page.locator("#f-landmark").fill("公民館から北へ50m、交差点の角")
    page.locator("#f-symptom").select_option("not_lit")
    field = page.locator("[data-path='/light_photos']")
    assert field.get_by_text("写真を撮る・ファイルを選ぶ").is_visible()

    # A photo: uploaded at once, shown as a thumbnail with its name.
    page.set_input_files("#f-light_photos", str(photo))
    field.get_by_text(re.compile("を添付しました")).wait_for()
    items = field.locator("li.attachment")
    assert items.count() == 1
    thumbnail = items.first.locator("img.thumb")
    assert (thumbnail.get_attribute("src") or "").startswith("data:image/")
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "IMG_0042.jpg" in items.first.inner_text()
    step("30-light-photo-attached")

    # A program under a photo's name: refused by its bytes, the reason under the field.
    page.set_input_files("#f-light_photos", str(not_a_photo))
    error = field.locator(".field-error")
    error.wait_for()
    assert "light.jpg を添付できませんでした。" in error.inner_text()
    assert "添付できる種類: JPEG/PNG/WebP。" in error.inner_text()  # this field: photos only
    assert page.locator("#f-light_photos").get_attribute("aria-invalid") == "true"
    assert items.count() == 1
    step("31-light-photo-refused")

    # A second photo, then removed again.
    page.set_input_files("#f-light_photos", str(second))
    field.get_by_text(re.compile("IMG_0043.png を添付しました")).wait_for()
    assert items.count() == 2 and error.is_hidden()
    field.get_by_role("button", name="IMG_0043.png を削除").click()
    field.get_by_text("IMG_0043.png を削除しました。").wait_for()
    assert items.count() == 1
    step("32-light-photo-removed")

    page.get_by_role("button", name=re.compile("次へ|確認画面へ")).click()
    page.get_by_role("heading", name="申請内容の確認").wait_for()
    assert "IMG_0042.jpg" in page.locator("main").inner_text()
    step("33-light-review")
    page.get_by_role("button", name=re.compile("申請する")).click()
    page.get_by_role("heading", name="申請を受け付けました").wait_for()
    assert re.fullmatch(r"TOMI-\S+", page.locator("#reference-number").inner_text())
    step("34-light-received")

    # Staff find the one photo on the application: upright, the GPS position gone.
    application = submission_id(page)
    headers = {"Authorization": f"Bearer {staff_token(web_server)}"}
    listing = httpx.get(
        f"{web_server}/api/v1/admin/submissions/{application}/attachments", headers=headers
    )
    assert listing.status_code == 200, listing.text
    [attached] = listing.json()["items"]
    assert attached["kind"] == "image"
    content = httpx.get(
        f"{web_server}/api/v1/admin/submissions/{application}/attachments/{attached['id']}/content",
        headers=headers,
    )
    assert content.status_code == 200
    image = Image.open(io.BytesIO(content.content))
    assert image.size == (240, 320)  # turned as the phone held it
    assert not image.getexif()
    assert media.APPENDED not in content.content
