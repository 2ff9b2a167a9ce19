def test_init_add_token(cli, passphrase_env):
    assert cli("init").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin="ghp_x\n").code == 0
    r = cli("token", "gh")
    assert (r.code, r.out) == (0, "ghp_x\n")
