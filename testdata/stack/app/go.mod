module zakupai.example/app

go 1.22
