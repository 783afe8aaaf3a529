"""保存期間: purging the personal data of decided applications after their retention."""
