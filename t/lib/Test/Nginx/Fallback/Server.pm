package Test::Nginx::Fallback::Server;

# The nginx side of the fallback Test::Nginx::Socket: the server root,
# nginx.conf generation, starting/stopping the daemon and reading the error
# log.  One object per test file; Test::Nginx::Socket's setters (workers(),
# log_level(), ...) write straight into its fields.

use strict;
use warnings;

use File::Path qw(remove_tree);
use File::Spec;
use POSIX qw(SIGQUIT SIGTERM SIGKILL);
use Time::HiRes qw(sleep);
use Test::More ();

# How long to sleep before reading the error log, so that lines nginx writes
# in its log phase (after the response was sent) are there.
my $LOG_SETTLE = 0.045;

sub new {
    my ($class, %opt) = @_;
    my $root = $opt{servroot};
    my $self = bless {
        %opt,
        conf_dir  => "$root/conf",
        conf_file => "$root/conf/nginx.conf",
        log_dir   => "$root/logs",
        error_log => "$root/logs/error.log",
        html_dir  => "$root/html",
        pid_file  => "$root/logs/nginx.pid",
        log_pos   => 0,
    }, $class;
    return $self;
}

sub html_dir { $_[0]{html_dir} }
sub servroot { $_[0]{servroot} }

sub bail {
    my ($msg) = @_;
    Test::More::BAIL_OUT($msg);
}

# --- nginx binary -----------------------------------------------------------

# Absolute path of the nginx binary: TEST_NGINX_BINARY or the first `nginx`
# in PATH.
sub binary_path {
    my ($self) = @_;
    my $bin = $self->{binary};
    return -x $bin ? $bin : undef if $bin =~ m{/};
    for my $dir (split /:/, $ENV{PATH} // '') {
        next if $dir eq '';
        return "$dir/$bin" if -f "$dir/$bin" && -x _;
    }
    return undef;
}

# `nginx -V` output, cached; also decides which *_temp_path directives exist.
sub build_info {
    my ($self) = @_;
    return $self->{build_info} if defined $self->{build_info};
    my $bin = $self->binary_path
        or bail("Cannot find the nginx executable \"$self->{binary}\"");
    my $out = `'$bin' -V 2>&1`;
    bail("Failed to run \"$bin -V\": $out") if $? != 0;
    return $self->{build_info} = $out;
}

# Version in Test::Nginx's canonical numeric form, e.g. 1.22.1 => 1.022001,
# so that versions compare as plain numbers.
sub version {
    my ($self) = @_;
    $self->build_info =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}
        or bail("Cannot parse the output of \"nginx -V\"");
    return canon_version($1, $2, $3);
}

sub canon_version {
    my ($major, $minor, $patch) = @_;
    return sprintf "%d.%03d%03d", $major, $minor, $patch;
}

# --- server root --------------------------------------------------------------

# Recreate the server root from scratch.  Only directories the harness owns
# are removed, then the root itself is rmdir'ed: if a test left anything else
# there we stop instead of deleting it (TEST_NGINX_SERVROOT may point
# somewhere precious).  Same rule as the real harness, so a test that breaks
# it breaks under both.
sub reset_servroot {
    my ($self) = @_;
    my $root = $self->{servroot};
    if (-d $root) {
        remove_tree($self->{conf_dir}, glob("$root/*_cache"),
                    glob("$root/*_temp"), "$root/cache",
                    $self->{html_dir}, $self->{log_dir});
        rmdir $root or bail("Can't remove $root (not empty?): $!");
    }
    for my $dir ($root, $self->{log_dir}, $self->{html_dir},
                 $self->{conf_dir})
    {
        mkdir $dir or bail("Failed to mkdir $dir: $!");
    }
    write_file("$self->{html_dir}/index.html",
               '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>');
    $self->{log_pos} = 0;
}

sub write_file {
    my ($path, $data) = @_;
    open my $out, '>', $path or bail("Can't open $path for writing: $!");
    print $out $data;
    close $out;
}

# --- nginx.conf -----------------------------------------------------------------

# Write conf/nginx.conf.  %sec holds the block's (already env-expanded)
# main_config, http_config, config and post_main_config plus its log_level.
# The layout follows the real harness so directives behave the same under
# both (e.g. load_module lines lead main_config, http{} precedes events{}).
sub write_config {
    my ($self, %sec) = @_;
    my $root = $self->{servroot};
    my $main = join ' ', (map { "load_module $_;" } grep { length }
                          split /\s+/, $self->{load_modules} // ''),
                         $sec{main_config} // '';
    my $http = $sec{http_config} // '';
    my $env = join '', map { /\s/ ? "env '$_';\n" : "env $_;\n" }
                       qw(LD_PRELOAD LD_LIBRARY_PATH ASAN_OPTIONS),
                       @{ $self->{env_to_nginx} };
    my $root_location = $self->{no_root_location} ? '' : <<"_EOC_";
        location / {
            root $self->{html_dir};
            index index.html index.htm;
        }
_EOC_
    # Being root, nginx would switch workers to "nobody" who cannot write
    # to the server root.
    my $user = $> == 0 ? "user root;\n" : '';

    write_file($self->{conf_file}, <<"_EOC_");
worker_processes  $self->{workers};
daemon on;
master_process $self->{master_process};
error_log $self->{error_log} $sec{log_level};
pid       $self->{pid_file};
$env
$main

http {
    access_log $self->{log_dir}/access.log; @{[ $self->temp_paths($http) ]}

    default_type text/plain;
    keepalive_timeout  68000ms;

$http
    server {
        listen          $self->{port};
        server_name     'localhost';
        client_max_body_size 30M;

$sec{config}

$root_location    }
}

@{[ $sec{post_main_config} // '' ]}

events {
    accept_mutex off;
    worker_connections  $self->{worker_connections};
}
$user
_EOC_
}

# Temp directories inside the server root (the packaged defaults under
# /var/lib/nginx may not be writable), skipping modules compiled out and
# paths the test sets itself.
sub temp_paths {
    my ($self, $http_config) = @_;
    my $info = $self->build_info;
    my @paths;
    for my $kind (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $info =~ /--without-http_${kind}_module/;
        next if $http_config =~ /\b${kind}_temp_path\b/;
        push @paths, "${kind}_temp_path $self->{servroot}/${kind}_temp;";
    }
    return join ' ', @paths;
}

# --- process control ------------------------------------------------------------

# Run nginx once; returns the wait status ($?) of the command.  nginx
# daemonizes, so a zero status means the listening socket is already bound.
# `-e` (nginx >= 1.19.5) sends errors from before the config is read to our
# error.log too, which is what must_die blocks inspect.
sub start {
    my ($self) = @_;
    my $bin = $self->binary_path
        or bail("Cannot find the nginx executable \"$self->{binary}\"");
    my @cmd = ($bin);
    push @cmd, '-e', $self->{error_log}
        if $self->version >= canon_version(1, 19, 5);
    push @cmd, '-p', "$self->{servroot}/", '-c', $self->{conf_file};
    # stdout is noise ("nginx: the configuration ..."); stderr stays visible.
    open my $saved, '>&', \*STDOUT or die "dup STDOUT: $!";
    open STDOUT, '>', '/dev/null' or die "redirect STDOUT: $!";
    system @cmd;
    my $status = $?;
    open STDOUT, '>&', $saved or die "restore STDOUT: $!";
    return $status;
}

# Start nginx, retrying while the port is still held by a previous instance.
# Any other failure is fatal at once (the real harness retries every failure
# for 30 seconds).
sub start_or_bail {
    my ($self, $name) = @_;
    my $waited = 0;
    for (my $try = 1; ; $try++) {
        my $status = $self->start;
        return if $status == 0;
        my @errors = grep { /\[(?:emerg|alert|crit)\]/ } @{ $self->all_log_lines };
        my $busy = grep { /Address already in use/ } @errors;
        if (!$busy || $waited >= 10) {
            bail("$name - Cannot start nginx (status $status): "
                 . join('', @errors > 3 ? @errors[-3 .. -1] : @errors) =~ s/\s+\z//r);
        }
        my $delay = $try * 0.1 > 1 ? 1 : $try * 0.1;
        sleep $delay;
        $waited += $delay;
    }
}

sub pid {
    my ($self) = @_;
    open my $in, '<', $self->{pid_file} or return undef;
    my $pid = <$in>;
    close $in;
    return undef unless defined $pid && $pid =~ /^\s*(\d+)\s*$/;
    return $1;
}

# A daemonized nginx is not our child: once it exits it stays a zombie
# until init reaps it, which can take a while, and kill(0) still succeeds on
# a zombie.  A zombie has released its sockets and files, so it counts as
# gone.
sub is_running {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    open my $in, '<', "/proc/$pid/stat" or return 1;    # no procfs
    my $stat = <$in> // '';
    return $stat !~ /^\d+ \(.*\) Z/s;
}

# Stop the nginx recorded in the pid file: QUIT (graceful), then TERM, then
# KILL.  nginx is a daemon, not our child, so we poll instead of waitpid.
sub stop {
    my ($self, $name) = @_;
    my $pid = $self->pid;
    if (!defined $pid || !is_running($pid)) {
        unlink $self->{pid_file};
        return;
    }
    for my $sig (SIGQUIT, SIGTERM, SIGKILL) {
        kill $sig, $pid;
        return if wait_exit($pid, $self->{timeout});
        warn "$name - nginx $pid did not exit on signal $sig\n";
    }
}

sub wait_exit {
    my ($pid, $timeout) = @_;
    for (my $left = $timeout; $left > 0; $left -= 0.02) {
        return 1 unless is_running($pid);
        sleep 0.02;
    }
    return !is_running($pid);
}

# Wait until nginx has written its pid file (it does so right after binding).
sub wait_pid_file {
    my ($self) = @_;
    for (1 .. 100) {
        return 1 if defined $self->pid;
        sleep 0.015;
    }
    return 0;
}

# --- error log ------------------------------------------------------------------

# Lines appended to error.log since the previous call (or since the server
# root was reset), like the real harness: each repetition of a block sees
# only its own lines.
sub new_log_lines {
    my ($self) = @_;
    sleep $LOG_SETTLE;
    open my $in, '<', $self->{error_log} or return [];
    seek $in, $self->{log_pos}, 0;
    my @lines = <$in>;
    $self->{log_pos} = tell $in;
    close $in;
    return \@lines;
}

sub all_log_lines {
    my ($self) = @_;
    open my $in, '<', $self->{error_log} or return [];
    my @lines = <$in>;
    close $in;
    return \@lines;
}

1;
