# Every postgres step of every workflow reaches the stack's database the
# same way: its client tools run on env.db.target, and connections are
# dialled from there. A step names only the database it works on (and may
# still set any of these itself).
defaults "postgres" {
  target   = env.db.target
  host     = env.db.host
  port     = env.db.port
  user     = env.db.user
  password = secret.db_password
}

# Every nginx step drives the environment's nginx (workflows/proxy.hcl,
# cutover.hcl).
defaults "nginx" {
  target = env.proxy.target
  sudo   = env.proxy.sudo
  config = env.proxy.nginx_conf
}
